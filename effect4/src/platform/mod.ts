/**
 * Effect 4's socket services for Deno (`effect/socket`'s `Socket`,
 * `SocketServer` and `DatagramSocket`), over this library's connections,
 * server and UDP endpoints: `effect/rpc`, `effect/cluster` and anything else
 * written for `@effect/platform-node`'s `NodeSocket`, `NodeSocketServer` and
 * `NodeDatagramSocket` runs on Deno unchanged. A separate entry point, so
 * that a program that only uses TCP does not load `effect/socket`.
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
export * as DenoDatagramSocket from "./DenoDatagramSocket.ts";
export * as DenoSocket from "./DenoSocket.ts";
export * as DenoSocketServer from "./DenoSocketServer.ts";
