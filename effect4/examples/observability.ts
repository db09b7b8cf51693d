/**
 * Metrics and traces of two servers in one process, exported through
 * `@effect/opentelemetry`: a line-protocol greeter (its connections traced)
 * and an echo, each with its own `name`, so their metrics are told apart.
 * A few clients talk to both; then what an exporter received is printed:
 * every metric with its labels and unit, and every span with its attributes.
 *
 *   deno run --allow-net=127.0.0.1 --allow-env examples/observability.ts
 *   deno run --allow-net=127.0.0.1 --allow-env examples/observability.ts --clients 5
 *
 * In a real program, swap the in-process reader and span processor below
 * for OTLP exporters (`@opentelemetry/exporter-*-otlp-http`) or
 * `@effect/opentelemetry`'s own `OtlpTracer` / `OtlpMetrics`.
 *
 * @module
 */
import * as OtelMetrics from "@effect/opentelemetry/OtelMetrics";
import * as OtelResource from "@effect/opentelemetry/Resource";
import * as OtelTracer from "@effect/opentelemetry/OtelTracer";
import {
  AggregationTemporality,
  type DataPoint,
  DataPointType,
  type Histogram,
  MetricReader,
  type ResourceMetrics,
} from "@opentelemetry/sdk-metrics";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { Context, Effect, Layer, Option } from "effect";
import { Address, Framing, Server, type SocketError, Tcp } from "../mod.ts";
import { parseFlags, runExample, type UsageError, write } from "./_terminal.ts";

/** A reader the program collects from when it wants (a test, or the end of this demo). */
export class CollectingReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Effect's metrics and spans, exported to `reader` and `spans`. */
export const telemetry = (
  reader: MetricReader,
  spans: InMemorySpanExporter,
): Layer.Layer<never> => {
  const resource = OtelResource.layer({ serviceName: "observability-example" });
  // Effect's tracer backed by an OpenTelemetry tracer from this provider.
  const tracing = OtelTracer.layerWithoutOtelTracer.pipe(
    Layer.provide(OtelTracer.layerTracer),
    Layer.provide(
      Layer.succeed(
        OtelTracer.OtelTracerProvider,
        new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] }),
      ),
    ),
  );
  return Layer.mergeAll(OtelMetrics.layer(() => reader), tracing).pipe(
    Layer.provide(resource),
  );
};

const lines = Framing.lines({ maxLength: 256 });

/** The greeter: answers each line `NAME` with `hello NAME`. */
const greet = (conn: Parameters<Server.Handler<never, never>>[0]) =>
  Effect.gen(function* () {
    const reader = lines.reader(conn);
    while (true) {
      const line = yield* reader.read;
      if (Option.isNone(line)) return;
      yield* lines.write(conn, `hello ${new TextDecoder().decode(line.value)}`);
    }
  });

/** Serves `handler` on a free loopback port for as long as the scope lasts. */
const serveOnFreePort = <E>(
  handler: Server.Handler<E, never> | Server.Loop,
  options: Server.Options,
) =>
  Effect.map(
    Layer.build(
      Server.serveForever(handler, options).pipe(Layer.provide(Tcp.layer("127.0.0.1:0"))),
    ),
    (context) => Context.get(context, Server.Server),
  );

/**
 * Two servers (the greeter traced, the echo not), and `clients` clients
 * talking to both; the servers stop when it ends. Returns their addresses.
 */
export const demo = (
  clients: number,
): Effect.Effect<{ greeter: string; echo: string }, SocketError.SocketError> =>
  Effect.gen(function* () {
    const greeter = yield* serveOnFreePort(greet, { name: "greeter", tracing: true });
    const echo = yield* serveOnFreePort(Server.echo, { name: "echo" });
    yield* Effect.forEach(
      Array.from({ length: clients }, (_, i) => i),
      (i) =>
        Effect.gen(function* () {
          const toGreeter = yield* Tcp.connect(greeter.address, { tracing: true });
          yield* lines.write(toGreeter, `client ${i}`);
          yield* lines.reader(toGreeter).read;
          const toEcho = yield* Tcp.connect(echo.address);
          yield* toEcho.write("ping");
          yield* toEcho.readExactly(4);
        }).pipe(Effect.scoped),
      { concurrency: "unbounded" },
    );
    return { greeter: Address.format(greeter.address), echo: Address.format(echo.address) };
  }).pipe(Effect.scoped);

const attributesText = (attributes: Record<string, unknown>): string =>
  Object.entries(attributes).map(([k, v]) => `${k}=${v}`).join(" ");

/** Every exported metric, one line per data point. */
export const describeMetrics = (collected: ResourceMetrics): string[] => {
  const out: string[] = [];
  for (const scope of collected.scopeMetrics) {
    for (const metric of scope.metrics) {
      if (!metric.descriptor.name.startsWith("socket.")) continue;
      const kind = metric.dataPointType === DataPointType.SUM
        ? (metric.isMonotonic ? "counter" : "up-down counter")
        : metric.dataPointType === DataPointType.HISTOGRAM
        ? "histogram"
        : "gauge";
      for (const point of metric.dataPoints as Array<DataPoint<number | Histogram>>) {
        const value = typeof point.value === "number"
          ? point.value
          : `count=${point.value.count} sum=${point.value.sum?.toFixed(4)}`;
        const { unit: _unit, ...labels } = point.attributes;
        out.push(
          `${metric.descriptor.name} (${kind}, ${metric.descriptor.unit}) ${
            attributesText(labels)
          }: ${value}`,
        );
      }
    }
  }
  return out.sort();
};

/** Every finished span, one line each. */
export const describeSpans = (spans: ReadonlyArray<ReadableSpan>): string[] =>
  spans.map((span) => `${span.name} ${attributesText(span.attributes)}`).sort();

const usage = "usage: observability.ts [--clients N] | --help";

const main = (
  args: ReadonlyArray<string>,
): Effect.Effect<void, SocketError.SocketError | UsageError> =>
  Effect.gen(function* () {
    const flags = yield* parseFlags(args, { values: ["--clients"], switches: [] });
    if (flags.has("--help")) return yield* write(`${usage}\n`);
    const clients = Number(flags.value("--clients") ?? "3");
    const reader = new CollectingReader();
    const spans = new InMemorySpanExporter();
    // Collected while the telemetry Layer is still up (releasing it shuts the reader down).
    const [where, { resourceMetrics }] = yield* Effect.zip(
      demo(clients),
      Effect.promise(() => reader.collect()),
    ).pipe(Effect.provide(telemetry(reader, spans)));
    yield* write(`greeter on ${where.greeter}, echo on ${where.echo}\n\nmetrics:\n`);
    for (const line of describeMetrics(resourceMetrics)) yield* write(`  ${line}\n`);
    yield* write("\nspans:\n");
    for (const line of describeSpans(spans.getFinishedSpans())) yield* write(`  ${line}\n`);
  });

if (import.meta.main) runExample("observability", usage, main(Deno.args));
