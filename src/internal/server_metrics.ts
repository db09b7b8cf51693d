// The metrics a server updates, labelled with the server they belong to, so
// that two servers in one process are told apart when exported. Counters are
// monotonic (`incremental`) and carry a `unit` tag, which
// @effect/opentelemetry exports as the instrument's unit. Byte counters move
// while connections are open: the server reports what each connection read
// and wrote once a second and when it closes, not per read or write.
import * as Metric from "effect/Metric";
import * as MetricBoundaries from "effect/MetricBoundaries";
import * as MetricLabel from "effect/MetricLabel";

/** The metric definitions; each server uses them tagged with its own labels. */
export const definitions: {
  readonly accepted: Metric.Metric.Counter<number>;
  readonly active: Metric.Metric.Gauge<number>;
  readonly failed: Metric.Metric.Counter<number>;
  readonly bytesIn: Metric.Metric.Counter<number>;
  readonly bytesOut: Metric.Metric.Counter<number>;
  readonly duration: Metric.Metric.Histogram<number>;
} = {
  accepted: Metric.counter("socket.server.connections", {
    description: "connections accepted",
    incremental: true,
  }),
  active: Metric.gauge("socket.server.active_connections", {
    description: "connections being served",
  }),
  failed: Metric.counter("socket.server.connection_failures", {
    description: "connections whose handler failed or died",
    incremental: true,
  }),
  bytesIn: Metric.counter("socket.server.bytes_received", {
    description: "bytes read from clients",
    incremental: true,
  }),
  bytesOut: Metric.counter("socket.server.bytes_sent", {
    description: "bytes written to clients",
    incremental: true,
  }),
  duration: Metric.histogram(
    "socket.server.connection.duration",
    MetricBoundaries.exponential({ start: 0.001, factor: 4, count: 12 }),
    "how long connections were served, in seconds",
  ),
};

/** The labels of one server's metrics (as OpenTelemetry attributes). */
export interface ServerLabels {
  /** `server.name`: the server's `name` option (default: its listening address). */
  readonly name: string;
  /** `network.transport`: `tcp` or `unix`. */
  readonly transport: string;
  /** `server.address`: the listening host (or unix socket path). */
  readonly address: string;
  /** `server.port`: the listening port (none for a unix socket). */
  readonly port?: number | undefined;
}

/** One server's metrics: the definitions tagged with its labels (and their units). */
export type ServerMetrics = typeof definitions;

/** Tags every definition with the server's labels. */
export const forServer = (labels: ServerLabels): ServerMetrics => {
  // deno-lint-ignore no-explicit-any
  const tag = <M extends Metric.Metric<any, any, any>>(metric: M, unit: string): M =>
    Metric.taggedWithLabels(metric, [
      MetricLabel.make("server.name", labels.name),
      MetricLabel.make("network.transport", labels.transport),
      MetricLabel.make("server.address", labels.address),
      ...(labels.port === undefined ? [] : [MetricLabel.make("server.port", String(labels.port))]),
      MetricLabel.make("unit", unit),
    ]) as M;
  return {
    accepted: tag(definitions.accepted, "{connection}"),
    active: tag(definitions.active, "{connection}"),
    failed: tag(definitions.failed, "{connection}"),
    bytesIn: tag(definitions.bytesIn, "By"),
    bytesOut: tag(definitions.bytesOut, "By"),
    duration: tag(definitions.duration, "s"),
  };
};
