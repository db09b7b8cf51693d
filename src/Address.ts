/**
 * Socket addresses: TCP (host name or IP literal plus port) and Unix (a
 * filesystem path), with parsing from and formatting to the usual text forms
 * `"127.0.0.1:8080"`, `"[::1]:8080"`, `"localhost:80"` and `"unix:/tmp/x.sock"`.
 *
 * The shapes match `@effect/platform/SocketServer`'s `TcpAddress` and
 * `UnixAddress`, so an address from this module can be handed to platform code.
 *
 * ```ts
 * import { Effect } from "effect";
 * import { Address } from "@fibernet/socket";
 *
 * const address = Effect.runSync(Address.parse("[::1]:8080"));
 * Address.format(address); // "[::1]:8080"
 * ```
 *
 * @module
 */
import type * as Effect from "effect/Effect";
import * as Either from "effect/Either";
import { SocketError } from "./SocketError.ts";

/**
 * A TCP (or UDP, or TLS) endpoint: a host name or IP literal and a port.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * const a: Address.TcpAddress = Address.tcp("127.0.0.1", 8080);
 * ```
 */
export interface TcpAddress {
  /** Discriminator. */
  readonly _tag: "TcpAddress";
  /** Host name, IPv4 literal, or IPv6 literal without brackets. */
  readonly hostname: string;
  /** Port, 0–65535 (0 asks the OS for a free port when listening). */
  readonly port: number;
}

/**
 * A Unix domain socket endpoint.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * const a: Address.UnixAddress = Address.unix("/tmp/app.sock");
 * ```
 */
export interface UnixAddress {
  /** Discriminator. */
  readonly _tag: "UnixAddress";
  /** Filesystem path of the socket. */
  readonly path: string;
}

/**
 * Any socket address.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * const all: Address.Address[] = [Address.tcp("::1", 80), Address.unix("/tmp/s")];
 * ```
 */
export type Address = TcpAddress | UnixAddress;

/**
 * What the functions taking an address accept: an {@link Address} or its text
 * form.
 *
 * @example
 * ```ts
 * import type { Address } from "@fibernet/socket";
 * const input: Address.Input = "localhost:8080";
 * ```
 */
export type Input = Address | string;

/**
 * Builds a TCP address (not validated: {@link validate} or {@link parse} do that).
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.tcp("localhost", 80);
 * ```
 */
export const tcp = (hostname: string, port: number): TcpAddress => ({
  _tag: "TcpAddress",
  hostname,
  port,
});

/**
 * Builds a Unix socket address.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.unix("/run/app.sock");
 * ```
 */
export const unix = (path: string): UnixAddress => ({ _tag: "UnixAddress", path });

/**
 * Formats an address back to text: `host:port`, `[v6]:port` or `unix:/path`.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.format(Address.tcp("::1", 80)); // "[::1]:80"
 * ```
 */
export const format = (address: Address): string => {
  if (address._tag === "UnixAddress") return `unix:${address.path}`;
  return address.hostname.includes(":")
    ? `[${address.hostname}]:${address.port}`
    : `${address.hostname}:${address.port}`;
};

/**
 * Options for {@link parse} and {@link validate}.
 *
 * @example
 * ```ts
 * import type { Address } from "@fibernet/socket";
 * const forListen: Address.ParseOptions = { allowPortZero: true };
 * ```
 */
export interface ParseOptions {
  /** Accept port 0 (listen on a free port). Default false: 0 cannot be connected to. */
  readonly allowPortZero?: boolean;
}

const invalid = (input: string, detail: string): SocketError<"InvalidAddress"> =>
  new SocketError({
    reason: "InvalidAddress",
    operation: "parse",
    address: JSON.stringify(input),
    detail,
  });

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const HOST_LABEL = /^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)$/;

const checkHost = (host: string): string | undefined => {
  if (host.length === 0) return "the host is empty";
  if (host.includes(":")) return isIpv6(host) ? undefined : `"${host}" is not a valid IPv6 address`;
  const v4 = IPV4.exec(host);
  if (v4) {
    return v4.slice(1).every((octet) => Number(octet) <= 255)
      ? undefined
      : `"${host}" is not a valid IPv4 address`;
  }
  if (host.length > 253) return "the host name is longer than 253 characters";
  const labels = host.endsWith(".") ? host.slice(0, -1).split(".") : host.split(".");
  if (labels.every((label) => HOST_LABEL.test(label))) {
    // A name made only of digits and dots that is not an IPv4 literal is garbage.
    if (/^[\d.]+$/.test(host)) return `"${host}" is not a valid IPv4 address`;
    return undefined;
  }
  return `"${host}" is not a valid host name`;
};

const isIpv6 = (host: string): boolean => {
  const zone = host.indexOf("%");
  const bare = zone >= 0 ? host.slice(0, zone) : host;
  if (!/^[0-9A-Fa-f:.]+$/.test(bare)) return false;
  try {
    new URL(`http://[${bare}]/`);
    return true;
  } catch {
    return false;
  }
};

const checkPort = (port: number, options?: ParseOptions): string | undefined => {
  if (!Number.isInteger(port)) return `port ${port} is not a whole number`;
  if (port < 0 || port > 65535) return `port ${port} is outside 0–65535`;
  if (port === 0 && !options?.allowPortZero) return "port 0 cannot be connected to";
  return undefined;
};

const checkPath = (path: string): string | undefined => {
  if (path.length === 0) return "the unix socket path is empty";
  if (path.includes("\0")) return "the unix socket path contains a NUL byte";
  // sun_path holds 108 bytes including the terminating NUL on Linux.
  if (new TextEncoder().encode(path).length > 107) {
    return "the unix socket path is longer than 107 bytes";
  }
  return undefined;
};

/**
 * Checks an address, returning it unchanged or an `InvalidAddress` error that
 * says what is wrong.
 *
 * @example
 * ```ts
 * import { Either } from "effect";
 * import { Address } from "@fibernet/socket";
 * Either.isLeft(Address.validate(Address.tcp("", 80))); // true
 * ```
 */
export const validate = (
  address: Address,
  options?: ParseOptions,
): Either.Either<Address, SocketError<"InvalidAddress">> => {
  const problem = address._tag === "UnixAddress"
    ? checkPath(address.path)
    : checkHost(address.hostname) ?? checkPort(address.port, options);
  return problem === undefined
    ? Either.right(address)
    : Either.left(invalid(format(address), problem));
};

/**
 * Parses the text form of an address without running an Effect.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.parseEither("unix:/tmp/x.sock");
 * ```
 */
export const parseEither = (
  input: string,
  options?: ParseOptions,
): Either.Either<Address, SocketError<"InvalidAddress">> => {
  const text = input.trim();
  if (text.startsWith("unix:")) {
    const path = text.slice("unix:".length);
    const problem = checkPath(path);
    return problem === undefined ? Either.right(unix(path)) : Either.left(invalid(input, problem));
  }
  let host: string;
  let portText: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return Either.left(invalid(input, "missing ']' after the IPv6 address"));
    host = text.slice(1, close);
    if (text[close + 1] !== ":") return Either.left(invalid(input, "expected ':port' after ']'"));
    portText = text.slice(close + 2);
    if (!host.includes(":")) return Either.left(invalid(input, "brackets are only for IPv6"));
  } else {
    const colon = text.lastIndexOf(":");
    if (colon < 0) {
      return Either.left(invalid(input, "expected host:port, [v6]:port or unix:/path"));
    }
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(":")) {
      return Either.left(invalid(input, "an IPv6 address needs brackets: [::1]:port"));
    }
  }
  if (!/^\d{1,5}$/.test(portText)) {
    return Either.left(
      invalid(
        input,
        portText === "" ? "the port is missing" : `"${portText}" is not a port number`,
      ),
    );
  }
  return validate(tcp(host, Number(portText)), options).pipe(
    Either.mapLeft((error) => invalid(input, error.detail ?? "invalid address")),
  );
};

/**
 * Parses `"host:port"`, `"[v6]:port"` or `"unix:/path"`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address } from "@fibernet/socket";
 * const program = Address.parse("127.0.0.1:8080").pipe(Effect.map(Address.format));
 * ```
 */
export const parse = (
  input: string,
  options?: ParseOptions,
): Effect.Effect<Address, SocketError<"InvalidAddress">> => parseEither(input, options);

/**
 * Resolves an {@link Input} to a validated {@link Address}.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.fromInput("localhost:80");
 * ```
 */
export const fromInput = (
  input: Input,
  options?: ParseOptions,
): Either.Either<Address, SocketError<"InvalidAddress">> =>
  typeof input === "string" ? parseEither(input, options) : validate(input, options);

/**
 * Converts one of Deno's `Deno.Addr` values.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.fromDeno({ transport: "tcp", hostname: "127.0.0.1", port: 80 });
 * ```
 */
export const fromDeno = (addr: Deno.Addr): Address => {
  switch (addr.transport) {
    case "tcp":
    case "udp":
      return tcp(addr.hostname, addr.port);
    case "unix":
    case "unixpacket":
      return unix(addr.path);
    default:
      return unix(String((addr as { path?: unknown }).path ?? ""));
  }
};
