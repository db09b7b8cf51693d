// The metrics a server updates, labelled with the server they belong to, so
// that two servers in one process are told apart when exported. Counters are
// monotonic (`incremental`) and carry a `unit` attribute, which
// @effect/opentelemetry exports as the instrument's unit. Byte counters move
// while connections are open: the server reports what each connection read
// and wrote once a second and when it closes, not per read or write.
//
// Each server's metrics are made with their labels as attributes (not with
// `Metric.withAttributes`, which adds them to a Context on every update):
// the same series as the definitions with those attributes added.
import * as Metric from "effect/Metric";

const DURATION_BOUNDARIES = Metric.exponentialBoundaries({ start: 0.001, factor: 4, count: 12 });

/** One server's metrics. */
export interface ServerMetrics {
  readonly accepted: Metric.Counter<number>;
  readonly active: Metric.Gauge<number>;
  readonly failed: Metric.Counter<number>;
  readonly bytesIn: Metric.Counter<number>;
  readonly bytesOut: Metric.Counter<number>;
  readonly duration: Metric.Histogram<number>;
}

/** The metrics with `labels` (and each one's unit) as attributes. */
const make = (labels: Record<string, string>): ServerMetrics => ({
  accepted: Metric.counter("socket.server.connections", {
    description: "connections accepted",
    incremental: true,
    attributes: { ...labels, unit: "{connection}" },
  }),
  active: Metric.gauge("socket.server.active_connections", {
    description: "connections being served",
    attributes: { ...labels, unit: "{connection}" },
  }),
  failed: Metric.counter("socket.server.connection_failures", {
    description: "connections whose handler failed or died",
    incremental: true,
    attributes: { ...labels, unit: "{connection}" },
  }),
  bytesIn: Metric.counter("socket.server.bytes_received", {
    description: "bytes read from clients",
    incremental: true,
    attributes: { ...labels, unit: "By" },
  }),
  bytesOut: Metric.counter("socket.server.bytes_sent", {
    description: "bytes written to clients",
    incremental: true,
    attributes: { ...labels, unit: "By" },
  }),
  duration: Metric.histogram("socket.server.connection.duration", {
    description: "how long connections were served, in seconds",
    boundaries: DURATION_BOUNDARIES,
    attributes: { ...labels, unit: "s" },
  }),
});

/** The metric definitions, with no server's labels. */
export const definitions: ServerMetrics = make({});

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

/** One server's metrics: the definitions with its labels. */
export const forServer = (labels: ServerLabels): ServerMetrics =>
  make({
    "server.name": labels.name,
    "network.transport": labels.transport,
    "server.address": labels.address,
    ...(labels.port === undefined ? {} : { "server.port": String(labels.port) }),
  });
