// What an operator's exporter receives, through @effect/opentelemetry: two
// servers told apart by their labels, monotonic counters with units, byte
// counters that move while a connection is open, and a traced connection as
// a span with the connect span on the client side.
import { describe, expect, it } from "@effect/vitest";
import {
  type DataPoint,
  DataPointType,
  type ResourceMetrics,
  type SumMetricData,
} from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { Effect, Metric, Schedule } from "effect";
import { Server, Tcp } from "../mod.ts";
import { CollectingReader, demo, telemetry } from "../examples/observability.ts";
import { startServer } from "./_support/net.ts";

const find = (collected: ResourceMetrics, name: string) =>
  collected.scopeMetrics.flatMap((scope) => scope.metrics).find((m) => m.descriptor.name === name);

const pointFor = (collected: ResourceMetrics, name: string, serverName: string) =>
  (find(collected, name)?.dataPoints as Array<DataPoint<number>> | undefined)?.find((point) =>
    point.attributes["server.name"] === serverName
  );

describe("observability through @effect/opentelemetry", () => {
  it.live("two servers are told apart; counters are monotonic sums with units; spans", () => {
    const reader = new CollectingReader();
    const spans = new InMemorySpanExporter();
    return Effect.gen(function* () {
      const where = yield* demo(4);
      const { resourceMetrics } = yield* Effect.promise(() => reader.collect());
      const accepted = find(resourceMetrics, "socket.server.connections") as SumMetricData;
      expect(accepted.dataPointType).toBe(DataPointType.SUM);
      expect(accepted.isMonotonic).toBe(true);
      expect(accepted.descriptor.unit).toBe("{connection}");
      for (const name of ["greeter", "echo"]) {
        const point = pointFor(resourceMetrics, "socket.server.connections", name)!;
        expect(point.value).toBe(4);
        expect(point.attributes["network.transport"]).toBe("tcp");
        expect(point.attributes["server.address"]).toBe("127.0.0.1");
      }
      const [, greeterPort] = where.greeter.split(":");
      expect(pointFor(resourceMetrics, "socket.server.connections", "greeter")!.attributes)
        .toMatchObject({ "server.port": greeterPort });
      const received = find(resourceMetrics, "socket.server.bytes_received") as SumMetricData;
      expect(received.isMonotonic).toBe(true);
      expect(received.descriptor.unit).toBe("By");
      // "client N\n" to the greeter, "ping" to the echo, from each of 4 clients.
      expect(pointFor(resourceMetrics, "socket.server.bytes_received", "echo")!.value).toBe(16);
      expect(pointFor(resourceMetrics, "socket.server.bytes_received", "greeter")!.value)
        .toBe(4 * 9);
      const duration = find(resourceMetrics, "socket.server.connection.duration")!;
      expect(duration.dataPointType).toBe(DataPointType.HISTOGRAM);
      expect(duration.descriptor.unit).toBe("s");

      const finished = spans.getFinishedSpans();
      const served = finished.filter((span) => span.name === "socket.server.connection");
      const connects = finished.filter((span) => span.name === "socket.connect");
      // Only the greeter is traced: one span per connection, and one per traced connect.
      expect(served).toHaveLength(4);
      expect(connects).toHaveLength(4);
      for (const span of served) {
        expect(span.attributes["network.peer.address"]).toBe("127.0.0.1");
        expect(span.attributes["server.port"]).toBe(Number(greeterPort));
        expect(span.attributes["socket.bytes_received"]).toBe(9);
      }
      expect(connects[0].attributes["server.port"]).toBe(Number(greeterPort));
    }).pipe(Effect.provide(telemetry(reader, spans)));
  });

  it.scopedLive("byte counters move while a connection is still open", () =>
    Effect.gen(function* () {
      const server = yield* startServer(Server.echo, { name: "long-lived" });
      const conn = yield* Tcp.connect(server.address);
      yield* conn.write("x".repeat(1000));
      yield* conn.readExactly(1000);
      // Reported once a second, without closing the connection.
      const received = Effect.map(Metric.value(server.metrics.bytesIn), (state) => state.count);
      yield* Effect.repeat(received, {
        until: (n) => n >= 1000,
        schedule: Schedule.spaced("100 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      expect(yield* received).toBe(1000);
      expect(yield* server.activeConnections).toBe(1);
    }));
});
