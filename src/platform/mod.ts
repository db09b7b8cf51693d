/**
 * `@effect/platform`'s `Socket` and `SocketServer` services for Deno, over
 * this library's connections and server: `@effect/rpc` and anything else
 * written for `@effect/platform-node`'s `NodeSocket` / `NodeSocketServer`
 * runs on Deno unchanged. A separate entry point, so that a program that
 * only uses TCP does not load `@effect/platform`.
 *
 * ```ts
 * import { DenoSocket, DenoSocketServer } from "@fibernet/socket/platform";
 *
 * const ServerLive = DenoSocketServer.layer({ host: "127.0.0.1", port: 3000 });
 * const ClientLive = DenoSocket.layerNet({ host: "127.0.0.1", port: 3000 });
 * ```
 *
 * @module
 */
export * as DenoSocket from "./DenoSocket.ts";
export * as DenoSocketServer from "./DenoSocketServer.ts";
