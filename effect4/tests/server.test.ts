import { describe, expect, it } from "@effect/vitest";
import {
  Deferred,
  Effect,
  Exit,
  Fiber,
  Layer,
  Metric,
  Option,
  References,
  Result,
  Schedule,
  Scope,
} from "effect";
import { Address, Connection, Listener, Server, Tcp, Unix } from "../mod.ts";
import { pattern, sameBytes, text } from "./_support/bytes.ts";
import { echo, startServer } from "./_support/net.ts";
import { tempDir } from "./_support/paths.ts";
import { resettingClient } from "./_support/peers.ts";
import { openTcpSockets } from "./_support/process.ts";

/**
 * Serves `count` clients that never leave (each first sends `greet`, then
 * reads one byte back), shuts the server down with a 300 ms shutdownTimeout,
 * and checks that every client sees its connection end and every socket descriptor is closed.
 */
const shutdownEndsEveryConnection = <E>(
  handler: Server.Handler<E, never>,
  count: number,
  greet: (client: Connection.Connection) => Effect.Effect<unknown, unknown> = () => Effect.void,
) =>
  Effect.gen(function* () {
    const baseline = openTcpSockets();
    const clients = yield* Scope.make();
    const serverScope = yield* Scope.make();
    const server = yield* startServer(handler, { shutdownTimeout: "300 millis" }).pipe(
      Scope.provide(serverScope),
    );
    const conns = yield* Effect.forEach(
      Array.from({ length: count }),
      () => Tcp.connect(server.address).pipe(Scope.provide(clients)),
      { concurrency: 20 },
    );
    yield* Effect.forEach(conns, (c) => Effect.andThen(greet(c), c.readExactly(1)), {
      concurrency: "unbounded",
    });
    expect(yield* server.activeConnections).toBe(count);
    yield* Scope.close(serverScope, Exit.void).pipe(Effect.timeout("5 seconds"));
    expect(yield* server.activeConnections).toBe(0);
    // Every client sees its connection end.
    const ends = yield* Effect.forEach(conns, (c) => Effect.result(c.read()), {
      concurrency: "unbounded",
    });
    expect(ends.every((e) => Result.isFailure(e) || Option.isNone(e.success))).toBe(true);
    yield* Scope.close(clients, Exit.void);
    expect(openTcpSockets()).toBeLessThanOrEqual(baseline);
  });

describe("Server", () => {
  it.live(
    "200 concurrent clients each get their own echoes intact",
    () =>
      Effect.gen(function* () {
        const server = yield* startServer(echo);
        const results = yield* Effect.forEach(
          Array.from({ length: 200 }, (_, i) => i),
          (i) =>
            Effect.scoped(
              Effect.gen(function* () {
                const conn = yield* Tcp.connect(server.address);
                let ok = true;
                for (let round = 0; round < 5; round++) {
                  const message = pattern(100 + i * 37 + round, i * 10 + round);
                  yield* conn.write(message);
                  ok = ok && sameBytes(yield* conn.readExactly(message.length), message);
                }
                return ok;
              }),
            ),
          { concurrency: "unbounded" },
        );
        expect(results.filter((ok) => ok).length).toBe(200);
      }),
    30_000,
  );

  it.live("serves a Unix listener with the same handler", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir;
      const scope = yield* Effect.scope;
      const context = yield* Layer.buildWithScope(
        Server.serveForever(echo).pipe(Layer.provide(Unix.layer(`${dir}/s.sock`))),
        scope,
      );
      const server = yield* Effect.provide(Server.Server, context);
      expect(server.address).toEqual(Address.unix(`${dir}/s.sock`));
      const conn = yield* Unix.connect(`${dir}/s.sock`);
      yield* conn.write("unix echo");
      expect(text(yield* conn.readExactly(9))).toBe("unix echo");
    }));

  it.live("a handler that fails and one that dies leave the server serving", () =>
    Effect.gen(function* () {
      let n = 0;
      const server = yield* startServer((conn) =>
        Effect.suspend((): Effect.Effect<unknown, unknown> => {
          n++;
          if (n === 1) return Effect.fail("typed failure");
          if (n === 2) return Effect.die(new Error("defect"));
          if (n === 3) throw new Error("thrown synchronously");
          return echo(conn);
        })
      );
      const failed0 = yield* Metric.value(server.metrics.failed);
      for (let i = 0; i < 3; i++) {
        const conn = yield* Tcp.connect(server.address);
        // The failed handler's connection is closed: the client reads end of stream.
        expect(yield* conn.read()).toEqual(Option.none());
      }
      const conn = yield* Tcp.connect(server.address);
      yield* conn.write("still serving");
      expect(text(yield* conn.readExactly(13))).toBe("still serving");
      const failed1 = yield* Metric.value(server.metrics.failed);
      expect(failed1.count - failed0.count).toBe(3);
    }));

  it.live("a handler that throws instead of returning an Effect fails only its connection", () =>
    Effect.gen(function* () {
      let n = 0;
      const server = yield* startServer((conn) => {
        if (n++ === 0) throw new Error("no Effect here");
        return echo(conn);
      });
      const failed0 = (yield* Metric.value(server.metrics.failed)).count;
      const first = yield* Tcp.connect(server.address);
      expect(yield* first.read()).toEqual(Option.none());
      const second = yield* Tcp.connect(server.address);
      yield* second.write("served");
      expect(text(yield* second.readExactly(6))).toBe("served");
      expect((yield* Metric.value(server.metrics.failed)).count - failed0).toBe(1);
    }));

  it.live("Server.echo (a Loop) holds no fiber per connection; every Effect handler holds one", () =>
    Effect.gen(function* () {
      // Fibers the server has running while 20 clients are connected and served.
      const fibersServing = <E>(handler: Server.Handler<E, never> | Server.Loop) =>
        Effect.gen(function* () {
          // Effect 4 has no Supervisor: the runtime's fiber hooks count them.
          let running = 0;
          const counting: Metric.FiberRuntimeMetricsService = {
            recordFiberStart: () => void running++,
            recordFiberEnd: () => void running--,
          };
          const scope = yield* Scope.make();
          const server = yield* startServer(handler).pipe(
            Effect.provideService(Metric.FiberRuntimeMetrics, counting),
            Scope.provide(scope),
          );
          const before = running;
          const clients = yield* Effect.forEach(
            Array.from({ length: 20 }),
            () => Tcp.connect(server.address).pipe(Scope.provide(scope)),
          );
          for (const client of clients) {
            yield* client.write("x");
            expect(text(yield* client.readExactly(1))).toBe("x");
          }
          const serving = running - before;
          yield* Scope.close(scope, Exit.void);
          return serving;
        });
      expect(yield* fibersServing(Server.echo)).toBe(0);
      expect(yield* fibersServing((conn) => Connection.copy(conn, conn))).toBe(20);
      expect(yield* fibersServing(echo)).toBe(20);
    }));

  it.live("an echo handler's failure (a peer's reset) is counted and ends only its connection", () =>
    Effect.gen(function* () {
      const server = yield* startServer(echo);
      const failed0 = (yield* Metric.value(server.metrics.failed)).count;
      yield* Effect.promise(() => resettingClient((server.address as Address.InetAddress).port));
      yield* Effect.repeat(Metric.value(server.metrics.failed), {
        until: (m) => m.count > failed0,
        schedule: Schedule.spaced("10 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      expect(yield* server.activeConnections).toBe(0);
      const conn = yield* Tcp.connect(server.address);
      yield* conn.write("after");
      expect(text(yield* conn.readExactly(5))).toBe("after");
    }));

  it.live("serves from a Listener written elsewhere (its accept is any Effect)", () =>
    Effect.gen(function* () {
      const inner = yield* Tcp.listen("127.0.0.1:0");
      let accepts = 0;
      const custom: Listener.Listener = {
        address: inner.address,
        accept: Effect.tap(inner.accept, () => Effect.sync(() => accepts++)),
        close: inner.close,
        raw: inner.raw,
      };
      const server = yield* Server.make(echo).pipe(
        Effect.provideService(Listener.Listener, custom),
      );
      for (const word of ["one", "two"]) {
        const conn = yield* Tcp.connect(server.address);
        yield* conn.write(word);
        expect(text(yield* conn.readExactly(3))).toBe(word);
      }
      expect(accepts).toBe(2);
    }));

  it.live("maxConnections holds: extra clients wait in the backlog, then get served", () =>
    Effect.gen(function* () {
      let running = 0;
      let peak = 0;
      const server = yield* startServer(
        (conn) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              running++;
              peak = Math.max(peak, running);
            }),
            () => Effect.andThen(conn.write("in"), echo(conn)),
            () => Effect.sync(() => running--),
          ),
        { maxConnections: 2 },
      );
      const first = yield* Tcp.connect(server.address);
      const second = yield* Tcp.connect(server.address);
      expect(text(yield* first.readExactly(2))).toBe("in");
      expect(text(yield* second.readExactly(2))).toBe("in");
      // The third connects (kernel backlog) but is not served while two are active.
      const third = yield* Tcp.connect(server.address);
      const waiting = yield* Effect.forkChild(third.readExactly(2));
      yield* Effect.sleep(200);
      expect(yield* server.activeConnections).toBe(2);
      expect(running).toBe(2);
      yield* first.close;
      expect(text(yield* Fiber.join(waiting))).toBe("in");
      expect(peak).toBe(2);
    }));

  it.live("an idle peer is closed after idleTimeout; the server keeps serving", () =>
    Effect.gen(function* () {
      const server = yield* startServer(echo, { idleTimeout: "200 millis" });
      const idle = yield* Tcp.connect(server.address);
      // The idle client sends nothing; the server closes it (end of stream or reset).
      const ended = yield* Effect.result(idle.read()).pipe(Effect.timeout("5 seconds"));
      expect(Result.isFailure(ended) || Option.isNone(ended.success)).toBe(true);
      const fresh = yield* Tcp.connect(server.address);
      yield* fresh.write("x");
      expect(text(yield* fresh.readExactly(1))).toBe("x");
    }));

  it.live("shutdown lets running handlers finish within shutdownTimeout", () =>
    Effect.gen(function* () {
      const started = yield* Deferred.make<void>();
      const scope = yield* Scope.make();
      const server = yield* startServer(
        (conn) =>
          Effect.gen(function* () {
            yield* Deferred.succeed(started, undefined);
            yield* Effect.sleep(300);
            yield* conn.write("finished");
          }),
        { shutdownTimeout: "10 seconds" },
      ).pipe(Scope.provide(scope));
      const conn = yield* Tcp.connect(server.address);
      yield* Deferred.await(started);
      const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void));
      expect(text(yield* conn.readExactly(8))).toBe("finished");
      yield* Fiber.await(closing);
      // New clients are refused once the server has shut down.
      expect((yield* Effect.flip(Tcp.connect(server.address))).reason).toBe("ConnectionRefused");
    }));

  it.live(
    "shutdown interrupts handlers after shutdownTimeout and releases every socket",
    () => shutdownEndsEveryConnection((conn) => Effect.andThen(conn.write("x"), Effect.never), 300),
    20_000,
  );

  it.live(
    "shutdown stops echo handlers (no fiber) after shutdownTimeout and releases every socket",
    () => shutdownEndsEveryConnection(echo, 100, (c) => c.write("e")),
    20_000,
  );

  it.live("shutdown waits for echo handlers (which hold no fiber) and lets them serve", () =>
    Effect.gen(function* () {
      const serverScope = yield* Scope.make();
      const server = yield* startServer(echo, { shutdownTimeout: "10 seconds" }).pipe(
        Scope.provide(serverScope),
      );
      const clientScope = yield* Scope.make();
      const conn = yield* Tcp.connect(server.address).pipe(Scope.provide(clientScope));
      yield* conn.write("a");
      yield* conn.readExactly(1);
      const closing = yield* Effect.forkChild(Scope.close(serverScope, Exit.void));
      // Draining: the listener is closed, but the connection is still served.
      yield* Effect.repeat(Effect.result(Tcp.connect(server.address)), {
        until: Result.isFailure,
        schedule: Schedule.spaced("10 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      yield* conn.write("still");
      expect(text(yield* conn.readExactly(5))).toBe("still");
      expect(closing.pollUnsafe()).toBeUndefined();
      // The client leaves, the handler ends, and the shutdown completes.
      yield* Scope.close(clientScope, Exit.void);
      yield* Fiber.join(closing).pipe(Effect.timeout("5 seconds"));
    }));

  it.live("an echo stopped by the shutdown mid-write is not counted as failed", () =>
    Effect.gen(function* () {
      const serverScope = yield* Scope.make();
      const server = yield* startServer(echo, { shutdownTimeout: "100 millis" }).pipe(
        Scope.provide(serverScope),
      );
      const failed0 = (yield* Metric.value(server.metrics.failed)).count;
      // The client sends far more than the socket buffers hold and reads
      // nothing back, so the echo is stuck in a write when the shutdown stops it.
      const client = yield* Tcp.connect(server.address);
      const sending = yield* Effect.forkChild(
        Effect.result(client.write(new Uint8Array(32 << 20))),
      );
      yield* Effect.repeat(Effect.sync(() => client.bytesWritten), {
        until: (n) => n > 0,
        schedule: Schedule.spaced("10 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      yield* Effect.sleep(100);
      yield* Scope.close(serverScope, Exit.void).pipe(Effect.timeout("5 seconds"));
      yield* Fiber.join(sending).pipe(Effect.timeout("5 seconds"));
      yield* Effect.sleep(50); // a late failure report would land by now
      expect((yield* Metric.value(server.metrics.failed)).count - failed0).toBe(0);
    }));

  it.live("a server made in an uninterruptible region can still interrupt its handlers", () =>
    Effect.gen(function* () {
      const serverScope = yield* Scope.make();
      // A handler waits for a first chunk (idle until then), then works forever.
      const server = yield* startServer(
        (conn) => Effect.andThen(conn.write("x"), Effect.flatMap(conn.read(), () => Effect.never)),
        { shutdownTimeout: "100 millis", idleTimeout: "200 millis" },
      ).pipe(Effect.uninterruptible, Scope.provide(serverScope));
      // The idle sweep interrupts a handler waiting to read...
      const idle = yield* Tcp.connect(server.address);
      yield* idle.readExactly(1);
      const ended = yield* Effect.result(idle.read()).pipe(Effect.timeout("5 seconds"));
      expect(Result.isFailure(ended) || Option.isNone(ended.success)).toBe(true);
      // ...and the shutdown one that is busy.
      const busy = yield* Tcp.connect(server.address);
      yield* busy.readExactly(1);
      yield* busy.write("go");
      yield* Scope.close(serverScope, Exit.void).pipe(Effect.timeout("5 seconds"));
      expect(yield* server.activeConnections).toBe(0);
    }));

  it.live("each handler gets its own Scope, closed however the handler ends", () =>
    Effect.gen(function* () {
      const closed: string[] = [];
      const server = yield* startServer((conn) =>
        Effect.gen(function* () {
          yield* Effect.addFinalizer((exit) =>
            Effect.sync(() => closed.push(Exit.hasInterrupts(exit) ? "interrupted" : "done"))
          );
          const first = yield* conn.read();
          if (Option.isSome(first) && first.value[0] === 0x21) return yield* Effect.fail("bang");
          if (Option.isSome(first)) yield* Effect.never;
        }), { idleTimeout: "200 millis" });
      const waitFor = (n: number) =>
        Effect.repeat(Effect.sync(() => closed.length), {
          until: (k) => k >= n,
          schedule: Schedule.spaced("10 millis"),
        }).pipe(Effect.timeout("5 seconds"));
      // Ends normally (end of stream), fails, and is interrupted (idle timeout).
      yield* Effect.scoped(Tcp.connect(server.address));
      yield* waitFor(1);
      const failing = yield* Tcp.connect(server.address);
      yield* failing.write("!");
      yield* waitFor(2);
      // Sends nothing: its first read waits past idleTimeout.
      yield* Tcp.connect(server.address);
      yield* waitFor(3);
      expect(closed).toEqual(["done", "done", "interrupted"]);
    }));

  it.live("each connection's logs are annotated with its peer address", () =>
    Effect.gen(function* () {
      const server = yield* startServer((conn) =>
        Effect.flatMap(
          References.CurrentLogAnnotations,
          (annotations) => conn.write(String(annotations["peer"])),
        )
      );
      const conn = yield* Tcp.connect(server.address);
      const peer = Address.format(conn.localAddress);
      expect(text(yield* conn.readExactly(peer.length))).toBe(peer);
    }));

  it.live("counts accepted connections and bytes in metrics", () =>
    Effect.gen(function* () {
      const server = yield* startServer(echo);
      const accepted0 = (yield* Metric.value(server.metrics.accepted)).count;
      const in0 = (yield* Metric.value(server.metrics.bytesIn)).count;
      yield* Effect.scoped(
        Effect.gen(function* () {
          const conn = yield* Tcp.connect(server.address);
          yield* conn.write("12345");
          yield* conn.readExactly(5);
        }),
      );
      // The handler ends when the client's close arrives; wait for it.
      yield* Effect.repeat(server.activeConnections, {
        until: (n) => n === 0,
        schedule: Schedule.spaced("10 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      yield* Effect.sleep(10);
      expect((yield* Metric.value(server.metrics.accepted)).count - accepted0).toBe(1);
      expect((yield* Metric.value(server.metrics.bytesIn)).count - in0).toBe(5);
    }));

  it.live("two servers' metrics are apart; metricsFor reads a server's by address and name", () =>
    Effect.gen(function* () {
      const api = yield* startServer(echo, { name: "api" });
      const other = yield* startServer(echo);
      yield* Effect.scoped(
        Effect.gen(function* () {
          const conn = yield* Tcp.connect(api.address);
          yield* conn.write("abc");
          yield* conn.readExactly(3);
        }),
      );
      yield* Effect.repeat(api.activeConnections, {
        until: (n) => n === 0,
        schedule: Schedule.spaced("10 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      const byName = Server.metricsFor(api.address, "api");
      expect((yield* Metric.value(byName.accepted)).count).toBe(1);
      expect((yield* Metric.value(byName.bytesIn)).count).toBe(3);
      expect((yield* Metric.value(byName.duration)).count).toBe(1);
      // The same address under another name is another series; so is the other server.
      expect((yield* Metric.value(Server.metricsFor(api.address).accepted)).count).toBe(0);
      expect((yield* Metric.value(other.metrics.accepted)).count).toBe(0);
    }));
});
