/**
 * Sockets for Deno programs written with Effect 4: TCP (IPv4 and IPv6), Unix
 * sockets, UDP and TLS, as scoped resources whose every operation is an
 * Effect with a typed error, plus a fiber-per-connection server, framing
 * codecs and verified file transfer.
 *
 * This is the Effect 4 line of `@fibernet/socket` (versions 4.x, for
 * `effect` 4.1); the Effect 3 line is 0.x. Both run over the same
 * Effect-free core, `@fibernet/socket/core`. Each module is also its own
 * entry point (`@fibernet/socket/Tcp`, `@fibernet/socket/Server`, …).
 *
 * ```ts
 * import { Effect, Option } from "effect";
 * import { Tcp } from "@fibernet/socket";
 *
 * const program = Effect.gen(function* () {
 *   const conn = yield* Tcp.connect("127.0.0.1:9999", { timeout: "5 seconds" });
 *   const welcome = yield* conn.readText();
 *   if (Option.isSome(welcome)) console.log(welcome.value);
 *   yield* conn.write("你好");
 * }).pipe(Effect.scoped);
 * ```
 *
 * @module
 */
export * as Address from "./src/Address.ts";
export * as Connection from "./src/Connection.ts";
export * as DenoRuntime from "./src/DenoRuntime.ts";
export * as FileTransfer from "./src/FileTransfer.ts";
export * as Framing from "./src/Framing.ts";
export * as Listener from "./src/Listener.ts";
export * as Printable from "./src/Printable.ts";
export * as Server from "./src/Server.ts";
export * as SocketError from "./src/SocketError.ts";
export * as SocketKind from "./src/SocketKind.ts";
export * as Tcp from "./src/Tcp.ts";
export * as Tls from "./src/Tls.ts";
export * as Udp from "./src/Udp.ts";
export * as Unix from "./src/Unix.ts";
