/**
 * `@effect/cluster` runners and clients on Deno: the counterpart of
 * `@effect/platform-node`'s `NodeClusterSocket`. A runner serves the cluster's
 * RPC protocol with this library's `DenoSocketServer` and reaches the other
 * runners with `DenoSocket`; a client-only process sends messages to entities
 * without hosting any. Runners share a storage (runners, shard locks and
 * persisted messages): a `SqlClient` such as `@effect/sql-pg`'s `PgClient`.
 *
 * ```ts
 * import { Entity, RunnerAddress } from "@effect/cluster";
 * import { Rpc } from "@effect/rpc";
 * import { PgClient } from "@effect/sql-pg";
 * import { Effect, Layer, Option, Redacted, Schema } from "effect";
 * import { DenoRuntime } from "@fibernet/socket";
 * import { DenoClusterSocket } from "@fibernet/socket/cluster";
 *
 * const Greeter = Entity.make("Greeter", [
 *   Rpc.make("Greet", { payload: { name: Schema.String }, success: Schema.String }),
 * ]);
 * const GreeterLive = Greeter.toLayer(Effect.succeed({
 *   Greet: ({ payload }) => Effect.succeed(`hello, ${payload.name}`),
 * }));
 *
 * const RunnerLive = DenoClusterSocket.layer({
 *   shardingConfig: { runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", 34431)) },
 * }).pipe(
 *   Layer.provide(PgClient.layer({ url: Redacted.make("postgres://127.0.0.1:5432/app") })),
 * );
 *
 * DenoRuntime.runMain(Layer.launch(GreeterLive.pipe(Layer.provide(RunnerLive))));
 * ```
 *
 * What it does beyond wiring, on purpose:
 * - **A runner stops at once.** Its RPC server interrupts every connection
 *   when the runner shuts down (the platform server's default, as on Node):
 *   runners keep connections to each other open for minutes, so waiting for
 *   them to end would hold a stopping runner for the full drain time.
 * - **Connections a client opened are closed with it.** In Effect 3.22,
 *   `RcMap.get` (which the cluster uses to keep one connection per runner)
 *   looks for an existing entry before it takes its lock and does not look
 *   again after, so first messages to one runner that race each other can
 *   each open a connection; all but the last one recorded are never closed
 *   by the cluster, and their ping timers keep the process alive: a client
 *   process then does not exit by itself (seen on Node too). The client
 *   protocol here records every connection scope it opens and closes those
 *   still open when the cluster Layer is released. Until then the extras
 *   live on (the cluster drops them after its 3-minute idle time). With
 *   another client protocol, end the process explicitly when its work is
 *   done.
 * - **Concurrent first start-up is retried.** Runners that start together
 *   on a new database race to create the cluster's tables, and PostgreSQL
 *   fails the losers (`type "cluster_migrations" already exists`); the
 *   storage Layers are built again a few times before that is an error.
 * - **TLS between runners** when `tls` is given: the server presents its
 *   certificate, every runner and client checks it. Deno's TLS server does
 *   not ask for client certificates, so anyone who can reach a runner's port
 *   can still talk to it: keep runner ports on a private network.
 *
 * Permissions: `--allow-net` for the runners and the database, `--allow-env`
 * (the sharding configuration is read from the environment, as on Node; the
 * `pg` driver reads `PG*` variables), `--allow-read` for TLS files. msgpack,
 * the default serialization, loads `msgpackr`, which looks for an optional
 * native addon (set `MSGPACKR_NATIVE_ACCELERATION_DISABLED=true` to skip the
 * search).
 *
 * @module
 */
import * as MessageStorage from "@effect/cluster/MessageStorage";
import * as RunnerHealth from "@effect/cluster/RunnerHealth";
import * as Runners from "@effect/cluster/Runners";
import * as RunnerStorage from "@effect/cluster/RunnerStorage";
import type { Sharding } from "@effect/cluster/Sharding";
import * as ShardingConfig from "@effect/cluster/ShardingConfig";
import * as SocketRunner from "@effect/cluster/SocketRunner";
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage";
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage";
import { Socket } from "@effect/platform/Socket";
import type * as SocketServer from "@effect/platform/SocketServer";
import * as RpcClient from "@effect/rpc/RpcClient";
import * as RpcSerialization from "@effect/rpc/RpcSerialization";
import type { SqlClient } from "@effect/sql/SqlClient";
import type { ConfigError } from "effect/ConfigError";
import type * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as ExecutionStrategy from "effect/ExecutionStrategy";
import * as Exit from "effect/Exit";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import * as Schedule from "effect/Schedule";
import * as Scope from "effect/Scope";
import * as Address from "../Address.ts";
import { retryLayer } from "../internal/retry_layer.ts";
import * as DenoSocket from "../platform/DenoSocket.ts";
import * as DenoSocketServer from "../platform/DenoSocketServer.ts";
import type * as Tls from "../Tls.ts";

/**
 * How a runner or client connects to a runner.
 *
 * @example
 * ```ts
 * import type { DenoClusterSocket } from "@fibernet/socket/cluster";
 * const client: DenoClusterSocket.ClientOptions = {
 *   openTimeout: "2 seconds",
 *   tls: { caFiles: ["./ca.pem"] },
 * };
 * ```
 */
export interface ClientOptions {
  /** Give up connecting to a runner after this long. Default 1 second, as on Node. */
  readonly openTimeout?: Duration.DurationInput | undefined;
  /** Connect over TLS, trusting these certificate authorities. */
  readonly tls?: Tls.ConnectOptions | undefined;
}

/**
 * How a runner serves the other runners and clients: the options of
 * `DenoSocketServer` (connection limit, idle timeout, drain time) and, for
 * TLS, the certificate and key.
 *
 * @example
 * ```ts
 * import type { DenoClusterSocket } from "@fibernet/socket/cluster";
 * const server: DenoClusterSocket.ServerOptions = {
 *   maxConnections: 1000,
 *   tls: { certFile: "./cert.pem", keyFile: "./key.pem" },
 * };
 * ```
 */
export interface ServerOptions extends DenoSocketServer.ServerOptions {
  /** Serve over TLS with this certificate and key. */
  readonly tls?: Tls.ListenOptions | undefined;
}

const DEFAULT_OPEN_TIMEOUT: Duration.DurationInput = "1 second";

/**
 * The client side of the runners' RPC protocol with options: for each runner
 * address, a `DenoSocket` (TCP, or TLS with `tls`) carrying
 * `RpcClient.makeProtocolSocket`. Every connection scope it opens is closed,
 * at the latest, when this Layer is released (see the module notes).
 *
 * @example
 * ```ts
 * import { RpcSerialization } from "@effect/rpc";
 * import { Layer } from "effect";
 * import { DenoClusterSocket } from "@fibernet/socket/cluster";
 *
 * const Protocol = DenoClusterSocket.layerClientProtocolWith({ openTimeout: "3 seconds" }).pipe(
 *   Layer.provide(RpcSerialization.layerMsgPack),
 * );
 * ```
 */
export const layerClientProtocolWith = (
  options?: ClientOptions,
): Layer.Layer<Runners.RpcClientProtocol, never, RpcSerialization.RpcSerialization> =>
  Layer.scoped(
    Runners.RpcClientProtocol,
    Effect.gen(function* () {
      const serialization = yield* RpcSerialization.RpcSerialization;
      const openTimeout = options?.openTimeout ?? DEFAULT_OPEN_TIMEOUT;
      const tls = options?.tls;
      // The scopes of the protocols still running; see the module notes for why.
      const open = new Set<Scope.CloseableScope>();
      let released = false;
      yield* Effect.addFinalizer(() => {
        released = true;
        const left = [...open];
        open.clear();
        return Effect.forEach(left, (scope) => Scope.close(scope, Exit.void), { discard: true });
      });
      return (runner) =>
        Effect.gen(function* () {
          if (released) return yield* Effect.interrupt;
          const scope = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential);
          open.add(scope);
          yield* Scope.addFinalizer(scope, Effect.sync(() => open.delete(scope)));
          const address = Address.tcp(runner.host, runner.port);
          const socket = tls === undefined
            ? yield* DenoSocket.makeTcp(address, { openTimeout })
            : yield* DenoSocket.makeTls(address, tls, { openTimeout });
          return yield* RpcClient.makeProtocolSocket().pipe(
            Effect.provideService(Socket, socket),
            Effect.provideService(RpcSerialization.RpcSerialization, serialization),
            Scope.extend(scope),
          );
        });
    }),
  );

/**
 * The client side of the runners' RPC protocol over plain TCP, with a
 * 1-second connect timeout: the counterpart of
 * `NodeClusterSocket.layerClientProtocol`.
 *
 * @example
 * ```ts
 * import { RpcSerialization } from "@effect/rpc";
 * import { Layer } from "effect";
 * import { DenoClusterSocket } from "@fibernet/socket/cluster";
 *
 * const Protocol = DenoClusterSocket.layerClientProtocol.pipe(
 *   Layer.provide(RpcSerialization.layerNdjson),
 * );
 * ```
 */
export const layerClientProtocol: Layer.Layer<
  Runners.RpcClientProtocol,
  never,
  RpcSerialization.RpcSerialization
> = layerClientProtocolWith();

/**
 * A runner's RPC server with options: a `DenoSocketServer` bound to
 * `ShardingConfig.runnerListenAddress`, or `runnerAddress` when that is not
 * set, over TLS when `tls` is given.
 *
 * @example
 * ```ts
 * import { ShardingConfig } from "@effect/cluster";
 * import { Layer } from "effect";
 * import { DenoClusterSocket } from "@fibernet/socket/cluster";
 *
 * const Server = DenoClusterSocket.layerSocketServerWith({ maxConnections: 500 }).pipe(
 *   Layer.provide(ShardingConfig.layerFromEnv()),
 * );
 * ```
 */
export const layerSocketServerWith = (
  options?: ServerOptions,
): Layer.Layer<
  SocketServer.SocketServer,
  SocketServer.SocketServerError,
  ShardingConfig.ShardingConfig
> =>
  Layer.unwrapEffect(Effect.gen(function* () {
    const config = yield* ShardingConfig.ShardingConfig;
    const listen = Option.orElse(config.runnerListenAddress, () => config.runnerAddress);
    if (Option.isNone(listen)) {
      return yield* Effect.dieMessage(
        "DenoClusterSocket: ShardingConfig has neither runnerListenAddress nor runnerAddress",
      );
    }
    const { tls, ...serverOptions } = options ?? {};
    const { host, port } = listen.value;
    return tls === undefined
      ? DenoSocketServer.layer({ host, port, ...serverOptions })
      : DenoSocketServer.layerTls(Address.tcp(host, port), tls, serverOptions);
  }));

/**
 * A runner's RPC server on `ShardingConfig`'s listen address, plain TCP: the
 * counterpart of `NodeClusterSocket.layerSocketServer`.
 *
 * @example
 * ```ts
 * import { RunnerAddress, ShardingConfig } from "@effect/cluster";
 * import { Layer, Option } from "effect";
 * import { DenoClusterSocket } from "@fibernet/socket/cluster";
 *
 * const Server = DenoClusterSocket.layerSocketServer.pipe(
 *   Layer.provide(
 *     ShardingConfig.layer({ runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", 34431)) }),
 *   ),
 * );
 * ```
 */
export const layerSocketServer: Layer.Layer<
  SocketServer.SocketServer,
  SocketServer.SocketServerError,
  ShardingConfig.ShardingConfig
> = layerSocketServerWith();

/**
 * Where runners keep the runner list, shard locks and persisted messages:
 * `"sql"` (the default) through a `SqlClient` you provide (PostgreSQL with
 * `@effect/sql-pg`, MySQL, …); `"local"` in memory, for one runner alone (no
 * persisted messages); `"byo"` for your own `MessageStorage` and
 * `RunnerStorage` Layers.
 *
 * @example
 * ```ts
 * import type { DenoClusterSocket } from "@fibernet/socket/cluster";
 * const storage: DenoClusterSocket.Storage = "sql";
 * ```
 */
export type Storage = "local" | "sql" | "byo";

/**
 * Options of {@link layer}, as `NodeClusterSocket.layer` takes them, plus the
 * socket options of this library.
 *
 * @example
 * ```ts
 * import type { DenoClusterSocket } from "@fibernet/socket/cluster";
 * const options: DenoClusterSocket.LayerOptions = {
 *   serialization: "msgpack",
 *   storage: "sql",
 *   shardingConfig: { shardsPerGroup: 100 },
 *   server: { maxConnections: 1000 },
 *   client: { openTimeout: "2 seconds" },
 * };
 * ```
 */
export interface LayerOptions<
  ClientOnly extends boolean = boolean,
  S extends Storage = Storage,
> {
  /** Wire format between runners; every runner and client must agree. Default `"msgpack"`, as on Node. */
  readonly serialization?: "msgpack" | "ndjson" | undefined;
  /** Most bytes of one undecoded message a connection may buffer. Default 16 MiB. */
  readonly serializationMaxBufferSize?: number | "unbounded" | undefined;
  /** A process that sends to entities but hosts none, and serves nothing. Default false. */
  readonly clientOnly?: ClientOnly | undefined;
  /** Where the cluster's state lives; see {@link Storage}. Default `"sql"`. */
  readonly storage?: S | undefined;
  /** Overrides of the sharding configuration read from the environment. */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Type"]> | undefined;
  /** Options of the runner's RPC server (ignored when `clientOnly`). */
  readonly server?: ServerOptions | undefined;
  /** How this process connects to runners. */
  readonly client?: ClientOptions | undefined;
}

/** What {@link layer} needs from you, by storage. */
type StorageNeeds<S extends Storage> = "local" extends S ? never
  : "byo" extends S ? MessageStorage.MessageStorage | RunnerStorage.RunnerStorage
  : SqlClient;

/**
 * What {@link layer} provides: `Sharding` (to register entities and make
 * clients), `Runners` and, unless the storage is your own, `MessageStorage`.
 *
 * @example
 * ```ts
 * import type { DenoClusterSocket } from "@fibernet/socket/cluster";
 * type Out = DenoClusterSocket.Provides<"sql">;
 * ```
 */
export type Provides<S extends Storage> =
  | Sharding
  | Runners.Runners
  | ("byo" extends S ? never : MessageStorage.MessageStorage);

// Runners that start together on a new database race to create the same
// tables, and PostgreSQL fails the losers ("type … already exists"), as a
// failure or, in the message storage's migrations, a defect. A few retries
// find the tables made.
const retryStartup = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  retryLayer(layer, 8, Schedule.jittered(Schedule.spaced("250 millis")));

/**
 * The cluster for this process as one Layer: the counterpart of
 * `NodeClusterSocket.layer`. A runner (the default) serves the runner
 * protocol on `ShardingConfig`'s address and checks the other runners'
 * health by pinging them; `clientOnly: true` only sends. The sharding
 * configuration comes from the environment (`HOST`, `PORT`, `LISTEN_HOST`,
 * `SHARDS_PER_GROUP`, … as on Node) with `shardingConfig` on top. With the
 * default `"sql"` storage, provide a `SqlClient`.
 *
 * @example
 * ```ts
 * import { RunnerAddress } from "@effect/cluster";
 * import { PgClient } from "@effect/sql-pg";
 * import { Layer, Option, Redacted } from "effect";
 * import { DenoClusterSocket } from "@fibernet/socket/cluster";
 *
 * const Database = PgClient.layer({ url: Redacted.make("postgres://127.0.0.1:5432/app") });
 *
 * // A runner on 127.0.0.1:34431 …
 * const Runner = DenoClusterSocket.layer({
 *   shardingConfig: { runnerAddress: Option.some(RunnerAddress.make("127.0.0.1", 34431)) },
 * }).pipe(Layer.provide(Database));
 *
 * // … and a process that only sends.
 * const Client = DenoClusterSocket.layer({ clientOnly: true }).pipe(Layer.provide(Database));
 * ```
 */
export const layer = <
  const ClientOnly extends boolean = false,
  const S extends Storage = "sql",
>(
  options?: LayerOptions<ClientOnly, S>,
): Layer.Layer<
  Provides<S>,
  (ClientOnly extends true ? never : SocketServer.SocketServerError) | ConfigError,
  StorageNeeds<S>
> => {
  const protocol = layerClientProtocolWith(options?.client);
  const sockets: Layer.Layer<
    Sharding | Runners.Runners,
    SocketServer.SocketServerError,
    | ShardingConfig.ShardingConfig
    | RpcSerialization.RpcSerialization
    | MessageStorage.MessageStorage
    | RunnerStorage.RunnerStorage
  > = options?.clientOnly
    ? Layer.provide(SocketRunner.layerClientOnly, protocol)
    : SocketRunner.layer.pipe(
      Layer.provide([layerSocketServerWith(options?.server), protocol]),
      Layer.provide(
        RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(protocol)),
      ),
    );
  const storage = options?.storage ?? "sql";
  const messages: Layer.Layer<
    MessageStorage.MessageStorage,
    never,
    SqlClient | ShardingConfig.ShardingConfig
  > = storage === "local"
    ? MessageStorage.layerNoop
    : storage === "byo"
    ? Layer.empty as never
    : Layer.orDie(retryStartup(SqlMessageStorage.layer));
  const runners: Layer.Layer<
    RunnerStorage.RunnerStorage,
    never,
    SqlClient | ShardingConfig.ShardingConfig
  > = storage === "local"
    ? RunnerStorage.layerMemory
    : storage === "byo"
    ? Layer.empty as never
    : Layer.orDie(retryStartup(SqlRunnerStorage.layer));
  const maxBufferSize = options?.serializationMaxBufferSize;
  return sockets.pipe(
    Layer.provideMerge(messages),
    Layer.provide(runners),
    Layer.provide(ShardingConfig.layerFromEnv(options?.shardingConfig)),
    Layer.provide(
      options?.serialization === "ndjson"
        ? RpcSerialization.layerNdjsonWith({ maxBufferSize })
        : RpcSerialization.layerMsgPackWith({ maxBufferSize }),
    ),
  ) as never;
};
