/**
 * `effect/cluster` on Deno: runners whose RPC server is this library's
 * `DenoSocketServer` and whose connections to other runners are
 * `DenoSocket`s, and client-only processes. A separate entry point, so that
 * programs that do not use the cluster do not load `effect/cluster`.
 *
 * ```ts
 * import { PgClient } from "@effect/sql-pg";
 * import { Layer, Redacted } from "effect";
 * import { DenoClusterSocket } from "@fibernet/socket/cluster";
 *
 * const Cluster = DenoClusterSocket.layer().pipe(
 *   Layer.provide(PgClient.layer({ url: Redacted.make("postgres://127.0.0.1:5432/app") })),
 * );
 * ```
 *
 * @module
 */
export * as DenoClusterSocket from "./DenoClusterSocket.ts";
