// Which reason a runtime error stands for, and the failure an operation
// reports for it: Deno's error classes, DOMException timeouts, errno codes
// from node: modules, and the plain Error of a failed DNS lookup.
import { causeMessage, type Failure, type Operation } from "./failure.ts";
import type { Reason } from "./reasons.ts";
import { alertDetail } from "./tls/alert.ts";

const ERRNO: Readonly<Record<string, Reason>> = {
  ECONNREFUSED: "ConnectionRefused",
  EADDRINUSE: "AddressInUse",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  ECONNRESET: "ConnectionReset",
  ECONNABORTED: "ConnectionReset",
  ENOTCONN: "ConnectionReset",
  EPIPE: "BrokenPipe",
  ETIMEDOUT: "TimedOut",
  ENOENT: "NotFound",
  ENOTFOUND: "HostNotFound",
  EAI_AGAIN: "HostNotFound",
  EMSGSIZE: "InvalidData",
  EADDRNOTAVAIL: "InvalidAddress",
  EINVAL: "InvalidAddress",
  EMFILE: "ResourceExhausted",
  ENFILE: "ResourceExhausted",
  ENOBUFS: "ResourceExhausted",
  ENOMEM: "ResourceExhausted",
  ERR_SOCKET_DGRAM_NOT_RUNNING: "Closed",
  EBADF: "Closed",
};

/** The reason `error` stands for. */
export const reasonOf = (error: unknown): Reason => {
  const errors = Deno.errors;
  if (error instanceof errors.ConnectionRefused) return "ConnectionRefused";
  if (error instanceof errors.AddrInUse) return "AddressInUse";
  if (error instanceof errors.NotCapable) return "NotCapable";
  if (error instanceof errors.PermissionDenied) return "PermissionDenied";
  if (error instanceof errors.BadResource || error instanceof errors.Interrupted) return "Closed";
  if (error instanceof errors.TimedOut) return "TimedOut";
  if (
    error instanceof errors.ConnectionReset || error instanceof errors.ConnectionAborted ||
    error instanceof errors.NotConnected
  ) {
    return "ConnectionReset";
  }
  if (error instanceof errors.BrokenPipe) return "BrokenPipe";
  if (error instanceof errors.NotFound) return "NotFound";
  if (error instanceof errors.AddrNotAvailable) return "InvalidAddress";
  if (error instanceof errors.InvalidData) return "InvalidData";
  if (error instanceof errors.UnexpectedEof) return "UnexpectedEof";
  if (error instanceof errors.NotSupported) return "Unsupported";
  if (error instanceof RangeError || error instanceof TypeError) return "InvalidAddress";
  if (error instanceof DOMException) {
    if (error.name === "TimeoutError") return "TimedOut";
    if (error.name === "AbortError") return "Closed";
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code in ERRNO) return ERRNO[code];
  if (
    error instanceof Error &&
    /failed to lookup address|Name or service not known/i.test(error.message)
  ) {
    return "HostNotFound";
  }
  return "Unknown";
};

/**
 * The Deno flags that let a program use `address`: a unix socket needs read,
 * write and net permission for its path (Deno 2.9), a TCP or UDP address net
 * permission for its host, an IPv6 host in brackets (`--allow-net=[::1]`).
 */
export const permissionFlags = (address: string | undefined): string => {
  if (address === undefined) return "--allow-net";
  if (address.startsWith("unix:")) {
    const path = address.slice("unix:".length);
    return `--allow-read=${path} --allow-write=${path} --allow-net=unix:${path}`;
  }
  return `--allow-net=${hostOf(address)}`;
};

const hostOf = (address: string): string => {
  const bracket = /^\[[^\]]+\]/.exec(address);
  if (bracket) return bracket[0];
  const colon = address.lastIndexOf(":");
  return colon > 0 ? address.slice(0, colon) : address;
};

/** Deno's own advice is a bare flag; the failure names the exact flags instead. */
const notCapableDetail = (operation: Operation, address: string | undefined, cause: unknown) =>
  `${
    causeMessage(cause)?.replace(/, run again with the --allow-\w+ flag$/, "") ??
      `${operation} needs permission`
  }; run with ${permissionFlags(address)}`;

/**
 * The failure `operation` reports for `cause`. A reason outside `allowed`
 * becomes `Unknown`, so an operation's error type never lies.
 */
export const classify = <R extends Reason>(
  cause: unknown,
  operation: Operation,
  address: string | undefined,
  allowed: ReadonlySet<R>,
): Failure<R> => {
  let reason = reasonOf(cause);
  if (!(allowed as ReadonlySet<Reason>).has(reason)) reason = "Unknown";
  const detail = reason === "NotCapable"
    ? notCapableDetail(operation, address, cause)
    : reason === "InvalidData"
    ? alertDetail(cause) // a TLS peer's fatal alert, explained
    : undefined;
  return { reason: reason as R, operation, address, detail, cause };
};
