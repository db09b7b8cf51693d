// DenoSocket / DenoSocketServer exercised through Effect 4's own Socket and
// SocketServer API (effect/socket), over real sockets on 127.0.0.1 and temp
// unix paths.
import { describe, expect, it } from "@effect/vitest";
import {
  Context,
  Effect,
  Fiber,
  Layer,
  Metric,
  Option,
  Redacted,
  Result,
  Schedule,
  Stream,
} from "effect";
import * as NetAddress from "effect/net/NetAddress";
import type * as Scope from "effect/Scope";
import * as Socket from "effect/socket/Socket";
import * as SocketServer from "effect/socket/SocketServer";
import { Address, Server, Tcp } from "../mod.ts";
import { DenoSocket, DenoSocketServer } from "../src/platform/mod.ts";
import { concatBytes, encode, text } from "./_support/bytes.ts";
import { freePort } from "./_support/net.ts";
import { needs } from "./_support/needs.ts";
import { tempDir } from "./_support/paths.ts";
import { resettingOnData } from "./_support/peers.ts";
import { selfSignedCert } from "./_support/tls.ts";

type Handler = (socket: Socket.Socket) => Effect.Effect<unknown, unknown>;

/** Starts a SocketServer and runs `handler` on it in the test's scope; its address. */
const serve = (
  handler: Handler,
  options: DenoSocketServer.Options = { host: "127.0.0.1", port: 0 },
): Effect.Effect<NetAddress.SocketAddress, SocketServer.SocketServerError, Scope.Scope> =>
  Effect.gen(function* () {
    const server = yield* DenoSocketServer.make(options);
    yield* Effect.forkScoped(server.run(handler));
    return server.address;
  });

const portOf = (address: NetAddress.SocketAddress): number =>
  address._tag === "UnixPathAddress" ? -1 : address.port;

/** An echo written against Effect 4's API only: every batch straight back. */
const echo: Handler = (socket) =>
  Effect.gen(function* () {
    const writer = yield* socket.writer;
    const reader = yield* socket.reader;
    while (true) yield* writer.writeAll(yield* reader.pull);
  }).pipe(Effect.scoped);

/** The close code of a socket error, if it is a close. */
const closeCode = (error: Socket.SocketError): number | undefined =>
  error.reason._tag === "SocketCloseError" ? error.reason.code : undefined;

const bytesOf = (chunk: Uint8Array | string): Uint8Array =>
  typeof chunk === "string" ? encode(chunk) : chunk;

/** A pulled batch as text. */
const textOf = (chunks: ReadonlyArray<Uint8Array | string>): string =>
  chunks.map((chunk) => typeof chunk === "string" ? chunk : text(chunk)).join("");

/** Pulls until the end of stream (close 1000); everything received. */
const readAll = (reader: Socket.Reader): Effect.Effect<Uint8Array, Socket.SocketError> =>
  Effect.gen(function* () {
    const parts: Array<Uint8Array> = [];
    while (true) {
      const next = yield* Effect.result(reader.pull);
      if (Result.isSuccess(next)) parts.push(...next.success.map(bytesOf));
      else if (closeCode(next.failure) === 1000) return concatBytes(parts);
      else return yield* Effect.fail(next.failure);
    }
  });

describe("DenoSocket / DenoSocketServer (effect/socket API)", () => {
  it.live("Socket.toChannel: echo over TCP; the input's end half-closes, the output ends", () =>
    Effect.gen(function* () {
      const address = yield* serve(echo);
      expect(NetAddress.isInetAddressV4(address)).toBe(true);
      expect(NetAddress.formatSocketAddress(address)).toBe(`127.0.0.1:${portOf(address)}`);
      const received = yield* Stream.make("hello", ", ", "世界").pipe(
        Stream.pipeThroughChannel(Socket.makeChannel()),
        // An Effect 4 socket ends with a close error, code 1000 at end of stream.
        Stream.catchIf((error) => closeCode(error) === 1000, () => Stream.empty),
        Stream.map(text),
        Stream.mkString,
        Effect.provide(DenoSocket.layerNet({ host: "127.0.0.1", port: portOf(address) })),
        Effect.timeout("10 seconds"),
      );
      expect(received).toBe("hello, 世界");
    }));

  it.live("over a unix socket: the address is a UnixPathAddress, layerNet { path } reaches it", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir;
      const address = yield* serve(echo, { path: `${dir}/echo.sock` });
      expect(address).toMatchObject({ _tag: "UnixPathAddress", path: `${dir}/echo.sock` });
      const socket = yield* DenoSocket.makeNet({ path: `${dir}/echo.sock` });
      const got = yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        yield* Effect.scoped(Effect.flatMap(socket.writer, (writer) => writer.write("über unix")));
        return yield* readAll(reader);
      }));
      expect(text(got)).toBe("über unix");
    }));

  it.live("every end fails pull: 1000 at end of stream (sticky), 1006 when the reader's scope closes", () =>
    Effect.gen(function* () {
      const address = yield* serve((socket) =>
        Effect.flatMap(socket.writer, (writer) => writer.write("bye")).pipe(Effect.scoped)
      );
      const socket = yield* DenoSocket.makeTcp(`127.0.0.1:${portOf(address)}`);
      yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        expect(text(yield* readAll(reader))).toBe("bye");
        const again = yield* Effect.flip(reader.pull);
        expect(again.reason).toMatchObject({ _tag: "SocketCloseError", code: 1000 });
        expect(again.message).toBe("1000");
      }));

      // A pull waiting in another fiber fails when the reader's scope closes.
      const silent = yield* serve(() => Effect.never);
      const quiet = yield* DenoSocket.makeTcp(`127.0.0.1:${portOf(silent)}`);
      const waiting = yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* quiet.reader;
        const fiber = yield* Effect.forkDetach(Effect.flip(reader.pull));
        yield* Effect.sleep("50 millis");
        return fiber;
      }));
      const released = yield* Fiber.join(waiting).pipe(Effect.timeout("5 seconds"));
      expect(released.reason).toMatchObject({ _tag: "SocketCloseError", code: 1006 });
    }));

  it.live("releasing the writer half-closes: the peer reads the end and can still answer", () =>
    Effect.gen(function* () {
      // Reads everything, then answers with how much it got.
      const address = yield* serve((socket) =>
        Effect.gen(function* () {
          const writer = yield* socket.writer;
          const reader = yield* socket.reader;
          const got = yield* readAll(reader);
          yield* writer.write(`got ${got.length} bytes`);
        }).pipe(Effect.scoped)
      );
      const socket = yield* DenoSocket.makeNet(`127.0.0.1:${portOf(address)}`);
      const answer = yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        yield* Effect.scoped(Effect.gen(function* () {
          const writer = yield* socket.writer;
          yield* writer.writeAll(["abc", new Uint8Array(1000), "de"]);
        }));
        return yield* readAll(reader);
      })).pipe(Effect.timeout("10 seconds"));
      expect(text(answer)).toBe("got 1005 bytes");
    }));

  it.live("a CloseEvent closes the connection; this side's pulls fail with its code and reason", () =>
    Effect.gen(function* () {
      const serverSaw: Array<number | undefined> = [];
      const address = yield* serve((socket) =>
        Effect.gen(function* () {
          const reader = yield* socket.reader;
          const error = yield* Effect.flip(Effect.forever(reader.pull));
          serverSaw.push(closeCode(error));
        }).pipe(Effect.scoped)
      );
      const socket = yield* DenoSocket.makeTcp(`127.0.0.1:${portOf(address)}`);
      const error = yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        const writer = yield* socket.writer;
        yield* writer.write(new Socket.CloseEvent(4000, "done here"));
        return yield* Effect.flip(reader.pull);
      }));
      expect(error.reason).toMatchObject({
        _tag: "SocketCloseError",
        code: 4000,
        closeReason: "done here",
      });
      expect(error.message).toBe("4000: done here");
      // The server read the end of stream: a close is how its loop ended.
      yield* Effect.repeat(Effect.sync(() => serverSaw.length), {
        until: (n) => n > 0,
        schedule: Schedule.spaced("10 millis"),
      }).pipe(Effect.timeout("5 seconds"));
      expect(serverSaw).toEqual([1000]);
    }));

  it.live("chunks already read and small writes complete without suspending", () =>
    Effect.gen(function* () {
      const address = yield* serve((socket) =>
        Effect.flatMap(socket.writer, (writer) => writer.write("abcdefghij")).pipe(
          Effect.andThen(Effect.never),
          Effect.scoped,
        )
      );
      const socket = yield* DenoSocket.makeTcp(`127.0.0.1:${portOf(address)}`, { readSize: 4 });
      yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        const writer = yield* socket.writer;
        yield* Effect.sleep("50 millis");
        expect(textOf(yield* reader.pull)).toBe("abcd");
        // The rest arrived with the first read: Effect.runSync fails on a suspension.
        expect(textOf(Effect.runSync(reader.pull))).toBe("efgh");
        expect(textOf(Effect.runSync(reader.pull))).toBe("ij");
        Effect.runSync(writer.write("small"));
      }));
    }));

  it.live("a server socket writes before its reader is acquired; DenoSocket.connection gives the peer", () =>
    Effect.gen(function* () {
      const peers: Array<string> = [];
      const address = yield* serve((socket) =>
        Effect.gen(function* () {
          const conn = DenoSocket.connection(socket);
          if (Option.isSome(conn)) peers.push(conn.value.remoteAddress._tag);
          const fromService = yield* DenoSocket.Connection;
          peers.push(fromService === Option.getOrUndefined(conn) ? "same" : "different");
          const writer = yield* socket.writer;
          yield* writer.write("welcome\n");
          return yield* echo(socket);
        }).pipe(Effect.scoped) as Effect.Effect<unknown, unknown>
      );
      const client = yield* Tcp.connect(`127.0.0.1:${portOf(address)}`);
      expect(text(yield* client.readExactly(8))).toBe("welcome\n");
      yield* client.write("ping");
      expect(text(yield* client.readExactly(4))).toBe("ping");
      expect(peers).toEqual(["TcpAddress", "same"]);
    }));

  it.live("open errors: refused, a missing unix path, openTimeout: SocketOpenError with our cause", () =>
    Effect.gen(function* () {
      const acquire = (socket: Socket.Socket) => Effect.flip(Effect.scoped(socket.reader));
      const refused = yield* acquire(
        yield* DenoSocket.makeNet({ host: "127.0.0.1", port: freePort() }),
      );
      expect(refused.reason).toMatchObject({
        _tag: "SocketOpenError",
        kind: "Unknown",
        cause: { _tag: "SocketError", reason: "ConnectionRefused" },
      });

      const dir = yield* tempDir;
      const missing = yield* acquire(yield* DenoSocket.makeNet({ path: `${dir}/nobody.sock` }));
      expect(missing.reason).toMatchObject({
        _tag: "SocketOpenError",
        cause: { reason: "NotFound" },
      });

      const slow = yield* acquire(
        yield* DenoSocket.make(Effect.never, { openTimeout: "50 millis" }),
      );
      expect(slow.reason).toMatchObject({ _tag: "SocketOpenError", kind: "Timeout" });
      expect(String((slow.reason as Socket.SocketOpenError).cause)).toContain(
        "no connection within 50",
      );

      // Writes wait for a reader to open the connection, as Effect 4 specifies.
      const idle = yield* DenoSocket.makeNet({ host: "127.0.0.1", port: freePort() });
      const pending = yield* Effect.scoped(
        Effect.flatMap(
          idle.writer,
          (writer) => writer.write("x").pipe(Effect.timeout("50 millis")),
        ),
      ).pipe(Effect.flip);
      expect(pending._tag).toBe("TimeoutError");
    }));

  it.live("a reset connection fails pull with SocketReadError (ConnectionReset), then writes fail", () =>
    Effect.gen(function* () {
      const port = yield* resettingOnData;
      const socket = yield* DenoSocket.makeTcp(`127.0.0.1:${port}`);
      yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        const writer = yield* socket.writer;
        yield* writer.write("hello, are you there?");
        const readError = yield* Effect.flip(readAll(reader));
        expect(readError.reason).toMatchObject({
          _tag: "SocketReadError",
          cause: { _tag: "SocketError", reason: "ConnectionReset" },
        });
        const writeError = yield* Effect.flip(writer.write("anyone?"));
        expect(writeError.reason._tag).toBe("SocketWriteError");
      }));
    }));

  it.live("a handler that fails or dies does not stop the server; one whose socket closed is no failure", () =>
    Effect.gen(function* () {
      let count = 0;
      const address = yield* serve((socket) => {
        const n = count++;
        return n === 0 ? Effect.fail("boom") : n === 1 ? Effect.die("kaboom") : echo(socket);
      });
      const port = portOf(address);
      // The server's own metrics, by its address (and name, here the default).
      const counter = Server.metricsFor(Address.inet("127.0.0.1", port)).failed;
      const failed = () => Effect.map(Metric.value(counter), (state) => state.count);
      const before = yield* failed();
      for (let i = 0; i < 2; i++) {
        // The failed connection is closed: the client reads the end at once.
        const client = yield* Tcp.connect(`127.0.0.1:${port}`);
        expect(Option.isNone(yield* client.read())).toBe(true);
      }
      // Served by echo, which ends with the client's close: not a failure.
      const client = yield* Tcp.connect(`127.0.0.1:${port}`);
      yield* client.write("still serving");
      expect(text(yield* client.readExactly(13))).toBe("still serving");
      yield* client.closeWrite;
      expect(Option.isNone(yield* client.read())).toBe(true);
      yield* Effect.sleep("50 millis");
      expect((yield* failed()) - before).toBe(2);
    }));

  it.live("Server options carry over: maxConnections and idleTimeout", () =>
    Effect.gen(function* () {
      let active = 0;
      let most = 0;
      const address = yield* serve(
        (socket) =>
          Effect.acquireUseRelease(
            Effect.sync(() => {
              most = Math.max(most, ++active);
            }),
            () => echo(socket),
            () => Effect.sync(() => active--),
          ),
        { host: "127.0.0.1", port: 0, maxConnections: 1, idleTimeout: "300 millis" },
      );
      const port = portOf(address);
      const a = yield* Tcp.connect(`127.0.0.1:${port}`);
      yield* a.write("a");
      expect(text(yield* a.readExactly(1))).toBe("a");
      // b is accepted by the kernel but not served while a holds the only slot.
      const b = yield* Tcp.connect(`127.0.0.1:${port}`);
      yield* b.write("b");
      const bReply = yield* Effect.forkChild(b.readExactly(1));
      yield* Effect.sleep("100 millis");
      expect(bReply.pollUnsafe()).toBe(undefined);
      yield* a.close;
      expect(text(yield* Fiber.join(bReply))).toBe("b");
      expect(most).toBe(1);
      // b now sits idle: the idle timeout closes it and its reader sees the end.
      expect(Option.isNone(yield* b.read().pipe(Effect.timeout("10 seconds")))).toBe(true);
    }));

  it.live("run can be called again after an interrupted run, on the same address", () =>
    Effect.gen(function* () {
      const server = yield* DenoSocketServer.make(
        { host: "127.0.0.1", port: 0 },
        { shutdownTimeout: "1 second" },
      );
      const port = portOf(server.address);
      const roundTrip = (message: string) =>
        Effect.gen(function* () {
          const client = yield* Tcp.connect(`127.0.0.1:${port}`);
          yield* client.write(message);
          return text(yield* client.readExactly(message.length));
        }).pipe(Effect.scoped, Effect.timeout("5 seconds"));
      const first = yield* Effect.forkChild(server.run(echo));
      expect(yield* roundTrip("one")).toBe("one");
      yield* Fiber.interrupt(first);
      const second = yield* Effect.forkChild(server.run(echo));
      expect(yield* roundTrip("two")).toBe("two");
      yield* Fiber.interrupt(second);
    }));

  // A handler such as an RPC server's serves until its client leaves: by
  // default an interrupted run stops it at once instead of waiting on the
  // client; shutdownTimeout gives handlers time to finish by themselves.
  const stopWhileClientWaits = (options: DenoSocketServer.ServerOptions) =>
    Effect.gen(function* () {
      const server = yield* DenoSocketServer.make({ host: "127.0.0.1", port: 0 }, options);
      const events: Array<string> = [];
      const running = yield* Effect.forkChild(server.run((socket) =>
        Effect.gen(function* () {
          const writer = yield* socket.writer;
          yield* writer.write("hello\n");
          return yield* echo(socket);
        }).pipe(
          Effect.scoped,
          Effect.onExit((exit) =>
            Effect.sync(() => {
              events.push(
                exit._tag === "Success" || !exit.cause.reasons.some((r) => r._tag === "Interrupt")
                  ? "ended"
                  : "interrupted",
              );
            })
          ),
        )
      ));
      const client = yield* Tcp.connect(`127.0.0.1:${portOf(server.address)}`);
      expect(text(yield* client.readExactly(6))).toBe("hello\n");
      return { running, client, events };
    });

  it.live("an interrupted run stops its handlers at once by default", () =>
    Effect.gen(function* () {
      const { running, client, events } = yield* stopWhileClientWaits({});
      yield* Fiber.interrupt(running).pipe(Effect.timeout("5 seconds"));
      expect(events).toEqual(["interrupted"]);
      // Its connection was closed: the client reads the end.
      expect(Option.isNone(yield* client.read().pipe(Effect.timeout("5 seconds")))).toBe(true);
    }));

  it.live("with shutdownTimeout, an interrupted run lets handlers finish first", () =>
    Effect.gen(function* () {
      const { running, client, events } = yield* stopWhileClientWaits({
        shutdownTimeout: "30 seconds",
      });
      const stopping = yield* Effect.forkChild(Fiber.interrupt(running));
      // Still served while draining; the handler ends when the client leaves.
      yield* client.write("ping\n");
      expect(text(yield* client.readExactly(5))).toBe("ping\n");
      yield* client.closeWrite;
      yield* Fiber.join(stopping).pipe(Effect.timeout("10 seconds"));
      expect(events).toEqual(["ended"]);
    }));

  it.live("a failing listen is a SocketServerError whose OpenError carries the reason", () =>
    Effect.gen(function* () {
      const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      yield* Effect.addFinalizer(() => Effect.sync(() => taken.close()));
      const error = yield* Effect.flip(DenoSocketServer.make({
        host: "127.0.0.1",
        port: (taken.addr as Deno.NetAddr).port,
      }));
      expect(error).toBeInstanceOf(SocketServer.SocketServerError);
      expect(error.reason._tag).toBe("SocketServerOpenError");
      expect(error.reason.cause).toMatchObject({ _tag: "SocketError", reason: "AddressInUse" });
    }));

  it.live("a reader that is not pulled holds the peer back: TCP pushes back, nothing piles up", () =>
    Effect.gen(function* () {
      let release: (() => void) | undefined;
      const address = yield* serve((socket) =>
        Effect.gen(function* () {
          const reader = yield* socket.reader;
          yield* Effect.callback<void>((resume) => {
            release = () => resume(Effect.void);
          });
          return yield* readAll(reader);
        }).pipe(Effect.scoped)
      );
      const conn = yield* Effect.promise(() =>
        Deno.connect({ hostname: "127.0.0.1", port: portOf(address) })
      );
      const closeConn = () => {
        try {
          conn.close();
        } catch {
          // Closed already.
        }
      };
      yield* Effect.addFinalizer(() => Effect.sync(closeConn));
      const block = new Uint8Array(1 << 20);
      let sent = 0;
      const pushing = (async () => {
        while (sent < 256 << 20) sent += await conn.write(block);
      })().catch(() => {});
      let last = -1;
      while (sent !== last) {
        last = sent;
        yield* Effect.sleep("200 millis");
      }
      // Kernel buffers took a few MiB, not the 256 MiB.
      expect(sent).toBeGreaterThan(0);
      expect(sent).toBeLessThan(64 << 20);
      release?.();
      closeConn(); // ends the pushing loop
      yield* Effect.promise(() => pushing);
    }));
});

describe("TLS: layerTls / makeTls, and Reader.upgrade in place", () => {
  needs("openssl", it.live)(
    "an echo over DenoSocketServer.layerTls, reached with makeTls",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir;
        yield* Effect.promise(() => selfSignedCert(dir));
        const context = yield* Layer.build(
          DenoSocketServer.layerTls("127.0.0.1:0", {
            certFile: `${dir}/cert.pem`,
            keyFile: `${dir}/key.pem`,
          }),
        );
        const server = Context.get(context, SocketServer.SocketServer);
        yield* Effect.forkScoped(server.run(echo));
        const socket = yield* DenoSocket.makeTls(`localhost:${portOf(server.address)}`, {
          caFiles: [`${dir}/cert.pem`],
        });
        const got = yield* Effect.scoped(Effect.gen(function* () {
          const reader = yield* socket.reader;
          yield* Effect.scoped(Effect.flatMap(socket.writer, (writer) => writer.write("sealed")));
          return yield* readAll(reader);
        })).pipe(Effect.timeout("10 seconds"));
        expect(text(got)).toBe("sealed");
      }),
  );

  needs("openssl", it.live)(
    "a client and a server socket start TLS after a plain-text go-ahead",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir;
        yield* Effect.promise(() => selfSignedCert(dir));
        const cert = yield* Effect.promise(() => Deno.readTextFile(`${dir}/cert.pem`));
        const key = yield* Effect.promise(() => Deno.readTextFile(`${dir}/key.pem`));
        // A STARTTLS-like exchange: "STARTTLS\n" → "GO\n", then TLS, then an echo.
        const address = yield* serve((socket) =>
          Effect.gen(function* () {
            const writer = yield* socket.writer;
            const reader = yield* socket.reader;
            const hello = yield* reader.pull;
            if (textOf(hello) !== "STARTTLS\n") return;
            yield* writer.write("GO\n");
            yield* reader.upgrade({ key: Redacted.make(key), cert });
            while (true) yield* writer.write(`secure: ${textOf(yield* reader.pull)}`);
          }).pipe(Effect.scoped)
        );
        const socket = yield* DenoSocket.makeTcp(`127.0.0.1:${portOf(address)}`);
        const answer = yield* Effect.scoped(Effect.gen(function* () {
          const reader = yield* socket.reader;
          const writer = yield* socket.writer;
          yield* writer.write("STARTTLS\n");
          expect(textOf(yield* reader.pull)).toBe("GO\n");
          yield* reader.upgrade({ servername: "localhost", ca: cert });
          const tls = Option.getOrThrow(DenoSocket.connection(socket));
          expect(typeof (tls.raw as Deno.TlsConn).handshake).toBe("function");
          yield* writer.write("hi");
          return textOf(yield* reader.pull);
        })).pipe(Effect.timeout("10 seconds"));
        expect(answer).toBe("secure: hi");
      }),
  );

  it.live("refused with a SocketUpgradeError that says why", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir;
      const address = yield* serve((socket) =>
        Effect.flatMap(socket.writer, (writer) => writer.write("GO\nand more")).pipe(
          Effect.andThen(Effect.never),
          Effect.scoped,
        ), { path: `${dir}/s.sock` });
      expect(address._tag).toBe("UnixPathAddress");
      const unix = yield* DenoSocket.makeNet({ path: `${dir}/s.sock` });
      const overUnix = yield* Effect.scoped(Effect.flatMap(unix.reader, (reader) =>
        reader.upgrade()))
        .pipe(Effect.flip);
      expect(overUnix.reason._tag).toBe("SocketUpgradeError");
      expect(String((overUnix.reason as Socket.SocketUpgradeError).cause)).toContain(
        "needs a TCP connection",
      );

      const tcp = yield* serve((socket) =>
        Effect.flatMap(socket.writer, (writer) =>
          writer.write("GO\ninjected")).pipe(
            Effect.andThen(Effect.never),
            Effect.scoped,
          )
      );
      const socket = yield* DenoSocket.makeTcp(`127.0.0.1:${portOf(tcp)}`, { readSize: 3 });
      const injected = yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        yield* Effect.sleep("50 millis");
        expect(textOf(yield* reader.pull)).toBe("GO\n");
        return yield* Effect.flip(reader.upgrade({ ca: "unused" }));
      }));
      expect(String((injected.reason as Socket.SocketUpgradeError).cause)).toContain(
        "arrived before the TLS handshake",
      );
      const clientCert = yield* Effect.scoped(Effect.gen(function* () {
        const reader = yield* socket.reader;
        return yield* Effect.flip(reader.upgrade({ cert: "x", key: Redacted.make("y") }));
      }));
      expect(String((clientCert.reason as Socket.SocketUpgradeError).cause)).toContain(
        "cannot present a client certificate",
      );
    }));
});
