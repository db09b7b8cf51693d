// What a datagram endpoint runs on: the two runtime APIs for UDP sockets,
// the interface each is wrapped in, and which ones this program can use.
import type { Failure } from "../failure.ts";
import type { UdpOptionReason } from "./reasons.ts";

/**
 * The runtime APIs a datagram endpoint can run on. `Deno.listenDatagram`
 * exists only under `--unstable-net`; `node:dgram` needs `--allow-net` alone.
 *
 * @example
 * ```ts
 * import { BACKENDS } from "@fibernet/socket/core";
 * console.log(BACKENDS); // ["node:dgram", "Deno.listenDatagram"]
 * ```
 */
export const BACKENDS = ["node:dgram", "Deno.listenDatagram"] as const;

/**
 * One of {@link BACKENDS}.
 *
 * @example
 * ```ts
 * import type { Backend } from "@fibernet/socket/core";
 * const portable: Backend = "node:dgram";
 * ```
 */
export type Backend = typeof BACKENDS[number];

/**
 * True when `Deno.listenDatagram` exists, i.e. the program runs with
 * `--unstable-net`.
 *
 * @example
 * ```ts
 * import { hasListenDatagram } from "@fibernet/socket/core";
 * if (!hasListenDatagram()) console.log("run with --unstable-net for the faster UDP backend");
 * ```
 */
export const hasListenDatagram = (): boolean =>
  typeof (Deno as unknown as { listenDatagram?: unknown }).listenDatagram === "function";

/**
 * The backends this program can use, the default first: `Deno.listenDatagram`
 * under `--unstable-net` (it receives about twice as many datagrams per
 * second and reuses one receive buffer), otherwise `node:dgram`.
 *
 * @example
 * ```ts
 * import { availableBackends } from "@fibernet/socket/core";
 * console.log(`UDP runs on ${availableBackends()[0]}`);
 * ```
 */
export const availableBackends = (): ReadonlyArray<Backend> =>
  hasListenDatagram() ? ["Deno.listenDatagram", "node:dgram"] : ["node:dgram"];

/** Where a backend hands what it reads. */
export interface Inbox {
  /** A datagram; the backend may reuse `view` once this returns. */
  deliver(view: Uint8Array, hostname: string, port: number): void;
  /** A receive error the backend recovered from. */
  error(cause: unknown): void;
  /** The socket went away without `close` being called. */
  lost(): void;
}

/** What to open: an IP literal, a port, its IP version and `SO_REUSEADDR`. */
export interface OpenPlan {
  readonly ip: string;
  readonly port: number;
  readonly family: 4 | 6;
  readonly reuseAddress: boolean;
}

/**
 * Setting an option, at once or later: undefined when set; a failure when
 * the backend cannot set it (it explains itself instead of throwing).
 */
export type OptionOutcome =
  | Failure<UdpOptionReason>
  | undefined
  | Promise<Failure<UdpOptionReason> | undefined>;

/**
 * One open socket of a backend. Sends report through `done` (null: sent);
 * option setters may also throw (or reject) what the runtime threw.
 */
export interface RawDatagramSocket {
  readonly hostname: string;
  readonly port: number;
  send(bytes: Uint8Array, hostname: string, port: number, done: (error: unknown) => void): void;
  setBroadcast(on: boolean): OptionOutcome;
  join(group: string, iface: string | undefined): OptionOutcome;
  leave(group: string, iface: string | undefined): OptionOutcome;
  setMulticastTTL(ttl: number): OptionOutcome;
  setMulticastLoopback(on: boolean): OptionOutcome;
  setMulticastInterface(iface: string): OptionOutcome;
  close(): void;
}

/** The failure of an option the backend in use cannot set. */
export const unsupported = (detail: string): Failure<"Unsupported"> => ({
  reason: "Unsupported",
  operation: "setOption",
  detail,
});
