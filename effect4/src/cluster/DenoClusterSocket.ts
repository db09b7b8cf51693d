/**
 * `effect/cluster` runners and clients on Deno: the counterpart of
 * `@effect/platform-node`'s `NodeClusterSocket`. A runner serves the
 * cluster's RPC protocol with this library's `DenoSocketServer` and reaches
 * the other runners with `DenoSocket`; a client-only process sends messages
 * to entities without hosting any. Runners share a storage (runners, shard
 * locks and persisted messages): a `SqlClient` such as `@effect/sql-pg`'s
 * `PgClient` (4.x, which speaks PostgreSQL's protocol itself and runs on
 * Deno).
 *
 * ```ts
 * import { PgClient } from "@effect/sql-pg";
 * import { Effect, Layer, Option, Redacted, Schema } from "effect";
 * import { Entity, RunnerAddress } from "effect/cluster";
 * import { Rpc } from "effect/rpc";
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
 *   when the runner shuts down (the socket server's default, as on Node):
 *   runners keep connections to each other open for minutes, so waiting for
 *   them to end would hold a stopping runner for the full drain time.
 * - **Concurrent first start-up is retried.** Runners that start together
 *   on a new database race to create the cluster's tables, and PostgreSQL
 *   fails the losers; the storage Layers are built again a few times before
 *   that is an error.
 * - **TLS between runners** when `tls` is given: the server presents its
 *   certificate, every runner and client checks it. Anyone who can reach a
 *   runner's port can still talk to it (no client certificates): keep runner
 *   ports on a private network.
 *
 * Permissions: `--allow-net` for the runners and the database, `--allow-env`
 * (the sharding configuration is read from the environment, as on Node),
 * `--allow-read` for TLS files.
 *
 * @module
 */
import * as MessageStorage from "effect/cluster/MessageStorage";
import * as RunnerHealth from "effect/cluster/RunnerHealth";
import * as Runners from "effect/cluster/Runners";
import * as RunnerStorage from "effect/cluster/RunnerStorage";
import type { Sharding } from "effect/cluster/Sharding";
import * as ShardingConfig from "effect/cluster/ShardingConfig";
import * as SocketRunner from "effect/cluster/SocketRunner";
import * as SqlMessageStorage from "effect/cluster/SqlMessageStorage";
import * as SqlRunnerStorage from "effect/cluster/SqlRunnerStorage";
import type { ConfigError } from "effect/Config";
import * as Digest from "effect/crypto/Digest";
import type * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Layer from "effect/Layer";
import * as Option from "effect/Option";
import * as RpcClient from "effect/rpc/RpcClient";
import * as RpcSerialization from "effect/rpc/RpcSerialization";
import * as Schedule from "effect/Schedule";
import { Socket } from "effect/socket/Socket";
import type * as SocketServer from "effect/socket/SocketServer";
import type { SqlClient } from "effect/sql/SqlClient";
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
  readonly openTimeout?: Duration.Input | undefined;
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

const DEFAULT_OPEN_TIMEOUT: Duration.Input = "1 second";

/**
 * The client side of the runners' RPC protocol with options: for each runner
 * address, a `DenoSocket` (TCP, or TLS with `tls`) carrying
 * `RpcClient.makeProtocolSocket`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect";
 * import { RpcSerialization } from "effect/rpc";
 * import { DenoClusterSocket } from "@fibernet/socket/cluster";
 *
 * const Protocol = DenoClusterSocket.layerClientProtocolWith({ openTimeout: "3 seconds" }).pipe(
 *   Layer.provide(RpcSerialization.layerSchemaBinary()),
 * );
 * ```
 */
export const layerClientProtocolWith = (
  options?: ClientOptions,
): Layer.Layer<Runners.RpcClientProtocol, never, RpcSerialization.RpcSerialization> =>
  Layer.effect(
    Runners.RpcClientProtocol,
    Effect.gen(function* () {
      const serialization = yield* RpcSerialization.RpcSerialization;
      const openTimeout = options?.openTimeout ?? DEFAULT_OPEN_TIMEOUT;
      const tls = options?.tls;
      return {
        codecFor: serialization.codecFor,
        make: (runner) =>
          Effect.gen(function* () {
            const address = Address.inet(runner.host, runner.port);
            const socket = tls === undefined
              ? yield* DenoSocket.makeTcp(address, { openTimeout })
              : yield* DenoSocket.makeTls(address, tls, { openTimeout });
            return yield* RpcClient.makeProtocolSocket().pipe(
              Effect.provideService(Socket, socket),
              Effect.provideService(RpcSerialization.RpcSerialization, serialization),
            );
          }),
      };
    }),
  );

/**
 * The client side of the runners' RPC protocol over plain TCP, with a
 * 1-second connect timeout: the counterpart of
 * `NodeClusterSocket.layerClientProtocol`.
 *
 * @example
 * ```ts
 * import { Layer } from "effect";
 * import { RpcSerialization } from "effect/rpc";
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
 * import { Layer } from "effect";
 * import { ShardingConfig } from "effect/cluster";
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
  Layer.unwrap(Effect.gen(function* () {
    const config = yield* ShardingConfig.ShardingConfig;
    const listen = Option.orElse(config.runnerListenAddress, () => config.runnerAddress);
    if (Option.isNone(listen)) {
      return yield* Effect.die(
        new Error(
          "DenoClusterSocket: ShardingConfig has neither runnerListenAddress nor runnerAddress",
        ),
      );
    }
    const { tls, ...serverOptions } = options ?? {};
    const { host, port } = listen.value;
    return tls === undefined
      ? DenoSocketServer.layer({ host, port, ...serverOptions })
      : DenoSocketServer.layerTls(Address.inet(host, port), tls, serverOptions);
  }));

/**
 * A runner's RPC server on `ShardingConfig`'s listen address, plain TCP: the
 * counterpart of `NodeClusterSocket.layerSocketServer`.
 *
 * @example
 * ```ts
 * import { Layer, Option } from "effect";
 * import { RunnerAddress, ShardingConfig } from "effect/cluster";
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
 * `@effect/sql-pg`, …); `"local"` in memory, for one runner alone (no
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
 *   serialization: "binary",
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
  /**
   * Wire format between runners; every runner and client must agree.
   * Default `"binary"` (Effect's SchemaBinary), as on Node.
   */
  readonly serialization?: "binary" | "ndjson" | undefined;
  /** Most bytes of one undecoded message a connection may buffer. Default 16 MiB. */
  readonly serializationMaxBufferSize?: number | "unbounded" | undefined;
  /** A process that sends to entities but hosts none, and serves nothing. Default false. */
  readonly clientOnly?: ClientOnly | undefined;
  /** Where the cluster's state lives; see {@link Storage}. Default `"sql"`. */
  readonly storage?: S | undefined;
  /** Overrides of the sharding configuration read from the environment. */
  readonly shardingConfig?: Partial<ShardingConfig.ShardingConfig["Service"]> | undefined;
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
// tables, and PostgreSQL fails the losers, as a failure or, in the message
// storage's migrations, a defect. A few retries find the tables made.
const retryStartup = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  retryLayer(layer, 8, Schedule.jittered(Schedule.spaced("250 millis")));

/**
 * The cluster for this process as one Layer: the counterpart of
 * `NodeClusterSocket.layer`. A runner (the default) serves the runner
 * protocol on `ShardingConfig`'s address and checks the other runners'
 * health by pinging them; `clientOnly: true` only sends. The sharding
 * configuration comes from the environment (`HOST`, `PORT`, `LISTEN_HOST`,
 * `SHARDS_PER_GROUP`, … as on Node) with `shardingConfig` on top. With the
 * default `"sql"` storage, provide a `SqlClient`; message keys are hashed
 * with WebCrypto's SHA-256.
 *
 * @example
 * ```ts
 * import { PgClient } from "@effect/sql-pg";
 * import { Layer, Option, Redacted } from "effect";
 * import { RunnerAddress } from "effect/cluster";
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
    : Layer.orDie(retryStartup(SqlMessageStorage.layer)).pipe(
      Layer.provide(Digest.layerWebCrypto),
    );
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
        : RpcSerialization.layerSchemaBinary({ maxFrameSize: maxBufferSize }),
    ),
  ) as never;
};
