// TLS over the core: a TLS connection is the ordinary Connection face over a
// TlsSocket (so copy loops and Server.echo run on it), the core works without
// Effect, a server's close sends close_notify, and a peer that sends while
// nobody reads is pushed back instead of filling memory.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { Effect, Fiber, Layer, Option, References } from "effect";
import { type Address, Connection, Listener, Server, Tcp, Tls } from "../mod.ts";
import {
  CopyLoop,
  ExplainedError,
  IoFailure,
  listenTls,
  PENDING,
  type StreamSocket,
  TlsSocket,
} from "../src/core/mod.ts";
import { pattern, sameBytes, text } from "./_support/bytes.ts";
import { needsForEach } from "./_support/needs.ts";
import { selfSignedCert } from "./_support/tls.ts";

let dir = "";
let cert = "";
let key = "";

beforeAll(async () => {
  dir = await Deno.makeTempDir({ prefix: "fibernet-tls-core-" });
  try {
    await selfSignedCert(dir);
    cert = await Deno.readTextFile(`${dir}/cert.pem`);
    key = await Deno.readTextFile(`${dir}/key.pem`);
  } catch {
    // openssl is missing: needsForEach skips every test here.
  }
});
afterAll(async () => {
  if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
});

/** Serves `handler` over TLS on a free loopback port until the test's scope closes. */
const serveTls = <E>(
  handler: Server.Handler<E, never> | Server.Loop,
  options?: Partial<Tls.ListenOptions>,
  serverOptions?: Server.Options,
) =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope;
    const context = yield* Layer.buildWithScope(
      Server.serveForever(handler, serverOptions).pipe(
        Layer.provide(Tls.layer("127.0.0.1:0", { cert, key, ...options })),
      ),
      scope,
    ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"));
    return (yield* Effect.provide(Server.Server, context)).address;
  });

describe("Tls over the core", () => {
  needsForEach("openssl");

  it.live("client and server connections expose their TlsSocket; copy runs between TLS and TCP", () =>
    Effect.gen(function* () {
      const listener = yield* Tls.listen("127.0.0.1:0", { cert, key });
      const connecting = yield* Effect.forkChild(
        Tls.connect(listener.address, { caCerts: [cert] }),
      );
      const accepted = yield* Listener.acceptScoped(listener);
      const client = yield* Fiber.join(connecting);
      expect(client.socket).toBeInstanceOf(TlsSocket);
      expect(accepted.socket).toBeInstanceOf(TlsSocket);
      expect(Tls.isTlsConnection(accepted)).toBe(true);
      if (!Tls.isTlsConnection(accepted)) return;
      expect(yield* accepted.handshake).toEqual({ alpnProtocol: null });

      // A relay: TLS in, plain TCP out, and back (one direction each).
      const upstream = yield* Tcp.listen("127.0.0.1:0");
      const toUpstream = yield* Tcp.connect(upstream.address);
      const atUpstream = yield* Listener.acceptScoped(upstream);
      const up = yield* Effect.forkChild(Connection.copy(accepted, toUpstream));
      const payload = pattern(300_000, 3);
      yield* client.write(payload);
      yield* client.closeWrite;
      expect(yield* Fiber.join(up)).toBe(payload.length);
      expect(sameBytes(yield* atUpstream.readExactly(payload.length), payload)).toBe(true);
      yield* atUpstream.write("reply over TCP");
      yield* atUpstream.closeWrite;
      expect(yield* Connection.copy(toUpstream, accepted)).toBe(14);
      expect(text(yield* client.readExactly(14))).toBe("reply over TCP");
    }));

  it.live("Server.echo over TLS echoes 1 MiB; a handler that returns ends with close_notify", () =>
    Effect.gen(function* () {
      const echo = yield* serveTls(Server.echo);
      const conn = yield* Tls.connect(echo, { caCerts: [cert] });
      const payload = pattern(1024 * 1024, 11);
      const back = yield* Effect.forkChild(conn.readExactly(payload.length));
      yield* conn.write(payload);
      expect(sameBytes(yield* Fiber.join(back), payload)).toBe(true);

      // The server writes and its handler returns: the client reads it all,
      // then a clean end of stream (no "peer closed without close_notify").
      const bye = yield* serveTls((c) => c.write(pattern(100_000, 5)));
      const reader = yield* Tls.connect(bye, { caCerts: [cert] });
      expect(sameBytes(yield* reader.readExactly(100_000), pattern(100_000, 5))).toBe(true);
      expect(yield* reader.read()).toEqual(Option.none());
    }));

  it.live("a client that sends while the handler never reads is pushed back by TCP", () =>
    Effect.gen(function* () {
      const address = yield* serveTls(() => Effect.never, {}, { shutdownTimeout: 0 });
      const port = (address as Address.InetAddress).port;
      // Deno's client: its writes complete only as far as TCP takes them.
      const written = yield* Effect.promise(async () => {
        const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [cert] });
        let total = 0;
        const chunk = new Uint8Array(64 * 1024);
        const writing = (async () => {
          try {
            while (total < 64 * 1024 * 1024) total += await conn.write(chunk);
          } catch {
            // closed below
          }
        })();
        await new Promise((resolve) => setTimeout(resolve, 2000));
        conn.close();
        await writing;
        return total;
      });
      // Kernel buffers take a few MiB; a server that read on would take it all.
      expect(written).toBeLessThan(32 * 1024 * 1024);
    }));

  it("the core alone: listenTls, a callback echo, and a handshake failure explained", async () => {
    const listener = listenTls({
      hostname: "127.0.0.1",
      port: 0,
      cert,
      key,
      alpnProtocols: ["echo/1"],
      handshakeTimeoutMs: 5_000,
    });
    const served: Array<Promise<unknown>> = [];
    const waiter = {
      onAcceptable() {
        const socket = listener.pollAccept(waiter);
        if (socket === PENDING || socket instanceof IoFailure) return;
        served.push(
          new Promise((resolve) => {
            new CopyLoop(socket, socket, {
              onCopyEnd: (result) => {
                socket.close();
                resolve(result);
              },
            }).start();
          }),
        );
        waiter.onAcceptable();
      },
    };
    waiter.onAcceptable();
    const port = (listener.address as Address.InetAddress).port;
    try {
      const client = new TlsSocket(
        await Deno.connectTls({
          hostname: "127.0.0.1",
          port,
          caCerts: [cert],
          alpnProtocols: ["echo/1"],
        }),
        { side: "client", handshakeTimeoutMs: 5_000 },
      );
      expect(await client.handshake()).toEqual({ alpnProtocol: "echo/1" });
      expect(client.tryWrite(new TextEncoder().encode("hello, core"), true)).not.toBeInstanceOf(
        IoFailure,
      );
      const reply = await readSome(client);
      expect(reply).toBe("hello, core");
      client.close();

      // A client that trusts nobody: the handshake fails, explained.
      const untrusting = new TlsSocket(
        await Deno.connectTls({ hostname: "127.0.0.1", port }),
        { side: "client", handshakeTimeoutMs: 5_000 },
      );
      const failed = await untrusting.handshake().then(() => undefined, (error) => error);
      expect(failed).toBeInstanceOf(ExplainedError);
      expect((failed as ExplainedError).failure.reason).toBe("InvalidData");
      expect((failed as ExplainedError).message).toContain("unknown issuer");
      untrusting.close();
      // The server's copy loop of the first client ended at end of stream.
      expect(await served[0]).toBe(11);
    } finally {
      listener.close();
    }
  });
});

/** Reads one chunk from a core socket, as text. */
const readSome = (socket: StreamSocket): Promise<string> =>
  new Promise((resolve, reject) => {
    const reader = {
      onReadable() {
        const chunk = socket.pollRead(1024, false, reader);
        if (chunk === PENDING) return;
        if (chunk === null) return reject(new Error("end of stream"));
        if (chunk instanceof IoFailure) return reject(chunk.error);
        resolve(text(chunk));
      },
    };
    reader.onReadable();
  });
