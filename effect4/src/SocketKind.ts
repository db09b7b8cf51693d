/**
 * Python's socket kinds — an address family (`AF_INET`, `AF_INET6`,
 * `AF_UNIX`) and a type (`SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_RAW`,
 * `SOCK_RDM`, `SOCK_SEQPACKET`) — mapped to this library's modules, for code
 * ported from `socket.socket(family, type)`.
 *
 * | family \ type | `SOCK_STREAM` | `SOCK_DGRAM` | `SOCK_RAW`, `SOCK_RDM`, `SOCK_SEQPACKET` |
 * |---|---|---|---|
 * | `AF_INET`, `AF_INET6` | `Tcp` | `Udp` | `Unsupported` |
 * | `AF_UNIX` | `Unix` | `Unsupported` | `Unsupported` |
 *
 * Deno has no raw, reliable-datagram or sequenced-packet sockets, and Unix
 * datagram sockets only behind `--unstable-net`: every function here fails
 * with a `SocketError` of reason `Unsupported` whose message says why and
 * what to use instead.
 *
 * ```ts
 * import { Effect } from "effect";
 * import { SocketKind } from "@fibernet/socket";
 *
 * // socket.socket(AF_INET, SOCK_DGRAM); sk.bind(("127.0.0.1", 9999))
 * const program = Effect.gen(function* () {
 *   const endpoint = yield* SocketKind.bind("AF_INET", "SOCK_DGRAM", "127.0.0.1:9999");
 *   const { data } = yield* endpoint.receive;
 *   console.log(new TextDecoder().decode(data));
 * }).pipe(Effect.scoped);
 * ```
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Result from "effect/Result";
import type * as Scope from "effect/Scope";
import * as Address from "./Address.ts";
import type * as Connection from "./Connection.ts";
import type * as Listener from "./Listener.ts";
import { type ConnectReason, type ListenReason, SocketError } from "./SocketError.ts";
import * as Tcp from "./Tcp.ts";
import { isIpv4, isIpv6 } from "./core/address.ts";
import * as Udp from "./Udp.ts";
import * as Unix from "./Unix.ts";

/**
 * Python's address families.
 *
 * @example
 * ```ts
 * import type { SocketKind } from "@fibernet/socket";
 * const family: SocketKind.Family = "AF_INET6";
 * ```
 */
export type Family = "AF_INET" | "AF_INET6" | "AF_UNIX";

/**
 * Python's socket types.
 *
 * @example
 * ```ts
 * import type { SocketKind } from "@fibernet/socket";
 * const type: SocketKind.Type = "SOCK_DGRAM";
 * ```
 */
export type Type = "SOCK_STREAM" | "SOCK_DGRAM" | "SOCK_RAW" | "SOCK_RDM" | "SOCK_SEQPACKET";

/**
 * The module of this library that serves a socket kind.
 *
 * @example
 * ```ts
 * import type { SocketKind } from "@fibernet/socket";
 * const module: SocketKind.Module = "Udp";
 * ```
 */
export type Module = "Tcp" | "Udp" | "Unix";

/**
 * What {@link bind} returns for a type: a listener for `SOCK_STREAM`, a
 * datagram endpoint for `SOCK_DGRAM`, nothing for the unsupported types.
 *
 * @example
 * ```ts
 * import type { SocketKind, Udp } from "@fibernet/socket";
 * type Same = SocketKind.Bound<"SOCK_DGRAM"> extends Udp.Endpoint ? true : false; // true
 * ```
 */
export type Bound<T extends Type> = T extends "SOCK_STREAM" ? Listener.Listener
  : T extends "SOCK_DGRAM" ? Udp.Endpoint
  : never;

/**
 * What {@link connect} returns for a type: a connection for `SOCK_STREAM`, a
 * connected datagram endpoint for `SOCK_DGRAM`.
 *
 * @example
 * ```ts
 * import type { Connection, SocketKind } from "@fibernet/socket";
 * type Same = SocketKind.Connected<"SOCK_STREAM"> extends Connection.Connection ? true : false;
 * ```
 */
export type Connected<T extends Type> = T extends "SOCK_STREAM" ? Connection.Connection
  : T extends "SOCK_DGRAM" ? Udp.Connected
  : never;

const why: Record<"SOCK_RAW" | "SOCK_RDM" | "SOCK_SEQPACKET", string> = {
  SOCK_RAW:
    "raw sockets (ICMP, IGMP, hand-built IP headers) need CAP_NET_RAW and Deno has no API for them; to ping, run the system ping with Deno.Command; for your own protocol use UDP",
  SOCK_RDM:
    "reliable datagram sockets (RDS, TIPC) do not exist in Deno; use TCP with Framing.lengthPrefixed for reliable messages, or UDP with your own acknowledgements",
  SOCK_SEQPACKET:
    "Deno has no SOCK_SEQPACKET sockets (its unstable 'unixpacket' transport is Unix datagrams); use Tcp or Unix with Framing.lengthPrefixed for reliable, ordered messages with boundaries",
};

const FAMILIES: ReadonlySet<string> = new Set(["AF_INET", "AF_INET6", "AF_UNIX"]);
const TYPES: ReadonlySet<string> = new Set([
  "SOCK_STREAM",
  "SOCK_DGRAM",
  "SOCK_RAW",
  "SOCK_RDM",
  "SOCK_SEQPACKET",
]);

/**
 * The module serving a family and type, or an `Unsupported` error saying why
 * there is none (an unknown family or type name is `InvalidAddress`).
 *
 * @example
 * ```ts
 * import { Result } from "effect";
 * import { SocketKind } from "@fibernet/socket";
 *
 * SocketKind.moduleFor("AF_INET6", "SOCK_DGRAM"); // Result.succeed("Udp")
 * const raw = SocketKind.moduleFor("AF_INET", "SOCK_RAW");
 * if (Result.isFailure(raw)) console.log(raw.failure.message); // says what to use instead
 * ```
 */
export const moduleFor = (
  family: Family,
  type: Type,
): Result.Result<Module, SocketError<"Unsupported" | "InvalidAddress">> => {
  const kind = `${family}, ${type}`;
  if (!FAMILIES.has(family)) {
    return Result.fail(
      new SocketError({
        reason: "InvalidAddress",
        operation: "parse",
        address: kind,
        detail: `unknown address family ${
          JSON.stringify(family)
        }: use AF_INET, AF_INET6 or AF_UNIX`,
      }),
    );
  }
  if (!TYPES.has(type)) {
    return Result.fail(
      new SocketError({
        reason: "InvalidAddress",
        operation: "parse",
        address: kind,
        detail: `unknown socket type ${JSON.stringify(type)}`,
      }),
    );
  }
  if (type === "SOCK_RAW" || type === "SOCK_RDM" || type === "SOCK_SEQPACKET") {
    return Result.fail(
      new SocketError({
        reason: "Unsupported",
        operation: "parse",
        address: kind,
        detail: why[type],
      }),
    );
  }
  if (family === "AF_UNIX") {
    return type === "SOCK_STREAM" ? Result.succeed("Unix") : Result.fail(
      new SocketError({
        reason: "Unsupported",
        operation: "parse",
        address: kind,
        detail:
          "Unix datagram sockets exist in Deno only as the unstable 'unixpacket' transport (--unstable-net), which this library does not wrap; use Unix streams with Framing.lengthPrefixed",
      }),
    );
  }
  return Result.succeed(type === "SOCK_STREAM" ? "Tcp" : "Udp");
};

/** Checks that an address belongs to the family, returning it in the form the module takes. */
const addressFor = (
  family: Family,
  input: Address.Input,
  operation: "bind" | "connect",
): Result.Result<Address.Input, SocketError<"InvalidAddress">> => {
  const mismatch = (detail: string) =>
    Result.fail(
      new SocketError({
        reason: "InvalidAddress",
        operation,
        address: typeof input === "string" ? input : Address.format(input),
        detail,
      }),
    );
  if (family === "AF_UNIX") {
    if (typeof input === "string") return Result.succeed(input);
    return input._tag === "UnixAddress"
      ? Result.succeed(input)
      : mismatch("AF_UNIX takes a socket path");
  }
  const parsed = Address.fromInput(input, { allowPortZero: true });
  if (Result.isFailure(parsed)) return Result.fail(parsed.failure);
  const address = parsed.success;
  if (address._tag === "UnixAddress") return mismatch(`${family} takes host:port, not a path`);
  const v6 = isIpv6(address.hostname);
  const v4 = isIpv4(address.hostname);
  if (family === "AF_INET" && v6) return mismatch("AF_INET takes an IPv4 address; use AF_INET6");
  if (family === "AF_INET6" && v4) return mismatch("AF_INET6 takes an IPv6 address; use AF_INET");
  return Result.succeed(address);
};

/**
 * Python's `socket(family, type)` + `bind` (+ `listen` for streams), closed
 * when the scope closes: a `Listener.Listener` for `SOCK_STREAM`, a
 * `Udp.Endpoint` for `SOCK_DGRAM`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { SocketKind } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const listener = yield* SocketKind.bind("AF_INET6", "SOCK_STREAM", "[::1]:0");
 *   const conn = yield* listener.accept;
 *   yield* conn.write("hello\n");
 *   yield* conn.close;
 * }).pipe(Effect.scoped);
 * ```
 */
export const bind = <T extends Type>(
  family: Family,
  type: T,
  address: Address.Input,
): Effect.Effect<Bound<T>, SocketError<ListenReason>, Scope.Scope> =>
  Effect.suspend(() => {
    const which = moduleFor(family, type);
    if (Result.isFailure(which)) return Effect.fail(which.failure);
    const checked = addressFor(family, address, "bind");
    if (Result.isFailure(checked)) return Effect.fail(checked.failure);
    const target = checked.success;
    switch (which.success) {
      case "Tcp":
        return Tcp.listen(target) as Effect.Effect<
          Bound<T>,
          SocketError<ListenReason>,
          Scope.Scope
        >;
      case "Unix":
        return Unix.listen(target as Unix.PathInput) as Effect.Effect<
          Bound<T>,
          SocketError<ListenReason>,
          Scope.Scope
        >;
      case "Udp":
        return Udp.bind(target) as Effect.Effect<Bound<T>, SocketError<ListenReason>, Scope.Scope>;
    }
  });

/**
 * Python's `socket(family, type)` + `connect`, closed when the scope closes:
 * a `Connection.Connection` for `SOCK_STREAM`, a `Udp.Connected` for
 * `SOCK_DGRAM`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { SocketKind } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const peer = yield* SocketKind.connect("AF_INET", "SOCK_DGRAM", "127.0.0.1:9999");
 *   yield* peer.send("hello");
 * }).pipe(Effect.scoped);
 * ```
 */
export const connect = <T extends Type>(
  family: Family,
  type: T,
  address: Address.Input,
): Effect.Effect<Connected<T>, SocketError<ConnectReason | Udp.BindReason>, Scope.Scope> =>
  Effect.suspend(() => {
    const which = moduleFor(family, type);
    if (Result.isFailure(which)) return Effect.fail(which.failure);
    const checked = addressFor(family, address, "connect");
    if (Result.isFailure(checked)) return Effect.fail(checked.failure);
    const target = checked.success;
    type Out = Effect.Effect<
      Connected<T>,
      SocketError<ConnectReason | Udp.BindReason>,
      Scope.Scope
    >;
    switch (which.success) {
      case "Tcp":
        return Tcp.connect(target) as Out;
      case "Unix":
        return Unix.connect(target as Unix.PathInput) as Out;
      case "Udp":
        return Udp.connect(target) as Out;
    }
  });
