/**
 * The service of the cluster example: a counter per entity id, sharded over
 * the runners. Each counter's value lives in PostgreSQL, next to the
 * cluster's own tables, so a counter goes on from where it was when its
 * shard moves to another runner. Only the runner that holds a counter's
 * shard runs its messages, one at a time: the read-modify-write needs no
 * lock of its own.
 *
 * @module
 */
import { Entity, RunnerAddress, type Sharding, type ShardingConfig } from "@effect/cluster";
import { Rpc } from "@effect/rpc";
import { SqlClient, type SqlError } from "@effect/sql";
import { PgClient } from "@effect/sql-pg";
import {
  type ConfigError,
  Data,
  Duration,
  Effect,
  Layer,
  Option,
  Predicate,
  Redacted,
  Schedule,
  Schema,
} from "effect";
import type { SocketServerError } from "@effect/platform/SocketServer";
import { DenoClusterSocket } from "../../src/cluster/mod.ts";

/** A counter's value, and the runner (`host:port`) that answered. */
export class Count extends Schema.Class<Count>("Count")({
  value: Schema.Number,
  runner: Schema.String,
}) {}

/** The entity: `Increment` adds 1 to 1000 and answers the new value; `Get` reads it. */
export const Counter = Entity.make("Counter", [
  Rpc.make("Increment", {
    payload: { by: Schema.Int.pipe(Schema.between(1, 1000)) },
    success: Count,
  }),
  Rpc.make("Get", { success: Count }),
]);

/** The counters' table, made once; runners starting together may race to make it. */
export const ensureTable: Effect.Effect<void, SqlError.SqlError, SqlClient.SqlClient> = Effect
  .flatMap(
    SqlClient.SqlClient,
    (sql) => sql`CREATE TABLE IF NOT EXISTS counters (id TEXT PRIMARY KEY, value BIGINT NOT NULL)`,
  ).pipe(Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.intersect(Schedule.recurs(5)))));

/** The handlers, on a runner. */
export const CounterLive = Counter.toLayer(Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient;
  const id = (yield* Entity.CurrentAddress).entityId;
  const self = yield* Entity.CurrentRunnerAddress;
  const runner = `${self.host}:${self.port}`;
  const answer = (rows: ReadonlyArray<{ readonly value: unknown }>) =>
    new Count({ value: Number(rows[0]?.value ?? 0), runner });
  return {
    Increment: ({ payload }) =>
      sql<{ value: string }>`
        INSERT INTO counters (id, value) VALUES (${id}, ${payload.by})
        ON CONFLICT (id) DO UPDATE SET value = counters.value + EXCLUDED.value
        RETURNING value`.pipe(Effect.map(answer), Effect.orDie),
    Get: () =>
      sql<{ value: string }>`SELECT value FROM counters WHERE id = ${id}`.pipe(
        Effect.map(answer),
        Effect.orDie,
      ),
  };
}));

/** The database every runner and client of one cluster shares. */
export const Database = (
  url: string,
): Layer.Layer<SqlClient.SqlClient, SqlError.SqlError | ConfigError.ConfigError> =>
  PgClient.layer({ url: Redacted.make(url), maxConnections: 5 });

/**
 * The cluster's timings for this demo. The defaults suit a data centre
 * (assignments refreshed every 3 s, a dead runner noticed within a minute,
 * shard locks held 35 s); on one machine these make a runner's failure
 * visible within a few seconds.
 */
export const timings: Partial<ShardingConfig.ShardingConfig["Type"]> = {
  refreshAssignmentsInterval: Duration.millis(500),
  runnerHealthCheckInterval: Duration.seconds(1),
  shardLockRefreshInterval: Duration.seconds(1),
  shardLockExpiration: Duration.seconds(5),
  entityTerminationTimeout: Duration.seconds(2),
  sendRetryInterval: Duration.millis(100),
};

/**
 * TLS between the processes of the cluster: each runner presents `cert` /
 * `key`, and every process trusts `ca` (for a self-signed certificate, the
 * certificate itself).
 */
export interface TlsFiles {
  readonly cert: string;
  readonly key: string;
  readonly ca: string;
}

/** Where the cluster is and how to reach it. */
export interface Setup {
  /** The PostgreSQL URL every runner and client shares. */
  readonly database: string;
  /** TLS between runners and clients; plain TCP without it. */
  readonly tls?: TlsFiles | undefined;
}

/** A runner on `host:port` hosting counters. */
export const runnerLayer = (
  setup: Setup,
  host: string,
  port: number,
): Layer.Layer<
  never,
  SqlError.SqlError | ConfigError.ConfigError | SocketServerError
> =>
  CounterLive.pipe(
    Layer.provideMerge(
      DenoClusterSocket.layer({
        shardingConfig: {
          ...timings,
          runnerAddress: Option.some(RunnerAddress.make(host, port)),
        },
        server: setup.tls && { tls: { certFile: setup.tls.cert, keyFile: setup.tls.key } },
        client: setup.tls && { tls: { caFiles: [setup.tls.ca] } },
      }),
    ),
    Layer.provide(Layer.effectDiscard(ensureTable)),
    Layer.provideMerge(Database(setup.database)),
    Layer.discard,
  );

/** A process that sends to counters and hosts none. */
export const clientLayer = (
  setup: Setup,
): Layer.Layer<Sharding.Sharding, SqlError.SqlError | ConfigError.ConfigError> =>
  DenoClusterSocket.layer({
    clientOnly: true,
    shardingConfig: timings,
    client: setup.tls && { tls: { caFiles: [setup.tls.ca] } },
  }).pipe(Layer.provide(Database(setup.database)));

/** A failure of a runner or client, in one line. */
export class ClusterFailure extends Data.TaggedError("ClusterFailure")<{
  readonly message: string;
}> {}

type Explained = SqlError.SqlError | SocketServerError;

const isExplained = (error: unknown): error is Explained =>
  Predicate.isTagged(error, "SqlError") || Predicate.isTagged(error, "SocketServerError");

const causeMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message : String(cause);

/**
 * Turns the database's and the server's failures into one line that says
 * what went wrong (their own messages are only "Failed to connect", "Open").
 */
export const explainFailures = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
): Effect.Effect<A, Exclude<E, Extract<E, Explained>> | ClusterFailure, R> =>
  Effect.catchIf(
    effect,
    (error): error is Extract<E, Explained> => isExplained(error),
    (error) => {
      const failure = error as Explained;
      return Effect.fail(
        new ClusterFailure({
          message: failure._tag === "SqlError"
            ? `database: ${failure.message}: ${causeMessage(failure.cause)}`
            : `cannot serve: ${causeMessage(failure.cause)}`,
        }),
      );
    },
  );
