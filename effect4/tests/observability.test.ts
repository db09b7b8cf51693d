// What an operator's exporter receives, through @effect/opentelemetry: two
// servers told apart by their labels, monotonic counters with units, byte
// counters that move while a connection is open, and a traced connection as
// a span with the connect span on the client side.
import { describe, expect, it } from "@effect/vitest";
import {
  type DataPoint,
  DataPointType,
  type Histogram,
  type ResourceMetrics,
  type SumMetricData,
} from "@opentelemetry/sdk-metrics";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { Context, Effect, Layer, Metric, Schedule } from "effect";
import { FileTransfer, Framing, Server, Tcp, Tls, Udp } from "../mod.ts";
import { CollectingReader, demo, telemetry } from "../examples/observability.ts";
import { pattern, text } from "./_support/bytes.ts";
import { startServer } from "./_support/net.ts";
import { needs } from "./_support/needs.ts";
import { tempDir } from "./_support/paths.ts";
import { selfSignedCert } from "./_support/tls.ts";

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

  it.live("byte counters move while a connection is still open", () =>
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

  needs("openssl", it.live)("a traced TLS connection: its handshake is a child span, timed", () => {
    const reader = new CollectingReader();
    const spans = new InMemorySpanExporter();
    return Effect.gen(function* () {
      const dir = yield* tempDir;
      yield* Effect.promise(() => selfSignedCert(dir));
      const context = yield* Layer.build(
        Server.serveForever(Server.echo, { name: "tls-echo", tracing: true }).pipe(
          Layer.provide(
            Tls.layer("127.0.0.1:0", { certFile: `${dir}/cert.pem`, keyFile: `${dir}/key.pem` }),
          ),
        ),
      );
      const server = Context.get(context, Server.Server);
      yield* Effect.scoped(Effect.gen(function* () {
        const conn = yield* Tls.connect(server.address, { caFiles: [`${dir}/cert.pem`] });
        yield* conn.write("hello");
        expect(text(yield* conn.readExactly(5))).toBe("hello");
      }));
      yield* Effect.repeat(server.activeConnections, {
        until: (n) => n === 0,
        schedule: Schedule.spaced("20 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      const finished = spans.getFinishedSpans();
      const connection = finished.find((span) => span.name === "socket.server.connection")!;
      const handshake = finished.find((span) => span.name === "socket.tls.handshake")!;
      expect(handshake.parentSpanContext?.spanId).toBe(connection.spanContext().spanId);
      expect(handshake.attributes["tls.side"]).toBe("server");
      const { resourceMetrics } = yield* Effect.promise(() => reader.collect());
      const timed = find(resourceMetrics, "socket.tls.handshake.duration")!;
      expect(timed.descriptor.unit).toBe("s");
      const sides = (timed.dataPoints as Array<DataPoint<Histogram>>)
        .filter((point) => point.attributes.outcome === "ok")
        .map((point) => point.attributes["tls.side"]);
      expect(sides).toContain("client");
      expect(sides).toContain("server");
    }).pipe(Effect.scoped, Effect.provide(telemetry(reader, spans)));
  });

  it.live("an upload in a traced server: a child span, and transfers counted with their bytes", () => {
    const reader = new CollectingReader();
    const spans = new InMemorySpanExporter();
    return Effect.gen(function* () {
      const dir = yield* tempDir;
      const file = `${dir}/photo.bin`;
      yield* Effect.promise(() => Deno.writeFile(file, pattern(100_000)));
      const server = yield* startServer(
        (conn) => FileTransfer.receive(conn, { dir: `${dir}/in`, maxSize: 1 << 20 }),
        { name: "uploads", tracing: true },
      );
      yield* Effect.promise(() => Deno.mkdir(`${dir}/in`));
      yield* Effect.scoped(
        Effect.flatMap(Tcp.connect(server.address), (conn) => FileTransfer.send(conn, file)),
      );
      yield* Effect.repeat(server.activeConnections, {
        until: (n) => n === 0,
        schedule: Schedule.spaced("20 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      const finished = spans.getFinishedSpans();
      const connection = finished.find((span) => span.name === "socket.server.connection")!;
      const upload = finished.find((span) => span.name === "socket.file_transfer.receive")!;
      expect(upload.parentSpanContext?.spanId).toBe(connection.spanContext().spanId);
      expect(upload.attributes["file_transfer.size"]).toBe(100_000);
      const { resourceMetrics } = yield* Effect.promise(() => reader.collect());
      const count = (name: string, direction: string) =>
        (find(resourceMetrics, name)?.dataPoints as Array<DataPoint<number>>).find((point) =>
          point.attributes.direction === direction
        )?.value;
      expect(count("socket.file_transfer.completed", "receive")).toBe(1);
      expect(count("socket.file_transfer.completed", "send")).toBe(1);
      expect(count("socket.file_transfer.bytes", "receive")).toBe(100_000);
    }).pipe(Effect.scoped, Effect.provide(telemetry(reader, spans)));
  });

  it.live("UDP endpoints count datagrams in, out and dropped, by local address", () => {
    const reader = new CollectingReader();
    const spans = new InMemorySpanExporter();
    return Effect.gen(function* () {
      const [a, b] = yield* Effect.scoped(Effect.gen(function* () {
        const a = yield* Udp.bind("127.0.0.1:0");
        const b = yield* Udp.bind("127.0.0.1:0");
        for (let i = 0; i < 3; i++) yield* a.send("ping", b.address);
        for (let i = 0; i < 3; i++) yield* b.receive;
        return [a.address.port, b.address.port];
      }));
      const { resourceMetrics } = yield* Effect.promise(() => reader.collect());
      const value = (name: string, port: number) =>
        (find(resourceMetrics, name)?.dataPoints as Array<DataPoint<number>>).find((point) =>
          point.attributes["network.local.port"] === String(port)
        )?.value;
      expect(value("socket.udp.datagrams_sent", a)).toBe(3);
      expect(value("socket.udp.datagrams_received", b)).toBe(3);
      expect(value("socket.udp.bytes_received", b)).toBe(12);
    }).pipe(Effect.provide(telemetry(reader, spans)));
  });

  it.live("a frame the codec refuses is an event on the traced connection's span", () => {
    const reader = new CollectingReader();
    const spans = new InMemorySpanExporter();
    return Effect.gen(function* () {
      const lines = Framing.lines({ maxLength: 8 });
      const server = yield* startServer((conn) => lines.reader(conn).read, {
        name: "short-lines",
        tracing: true,
        failureLogLevel: "None",
      });
      yield* Effect.scoped(Effect.gen(function* () {
        const conn = yield* Tcp.connect(server.address);
        yield* conn.write("far too long for this codec\n");
        yield* conn.read();
      }));
      yield* Effect.repeat(server.activeConnections, {
        until: (n) => n === 0,
        schedule: Schedule.spaced("20 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      const span = spans.getFinishedSpans().find((s) => s.name === "socket.server.connection")!;
      const event = span.events.find((e) => e.name === "socket.framing.error")!;
      expect(event.attributes?.["error.type"]).toBe("InvalidData");
      expect(span.status.code).toBe(2); // ERROR
    }).pipe(Effect.scoped, Effect.provide(telemetry(reader, spans)));
  });
});
