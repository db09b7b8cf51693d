import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { Effect, Fiber, Layer, Option, References, Result, Stream } from "effect";
import net from "node:net";
import tls from "node:tls";
import { Address, Framing, Server, type SocketError, Tcp, Tls, Unix } from "../mod.ts";
import { type Certificate, generateCertificate } from "../examples/tls_echo.ts";
import { encode, pattern, sameBytes, text } from "./_support/bytes.ts";
import { echo, hasIpv6 } from "./_support/net.ts";
import { tempDir } from "./_support/paths.ts";
import { runExample } from "./_support/process.ts";
import { needsForEach } from "./_support/needs.ts";
import { missing } from "./_support/tools.ts";

// Certificates are made at test time with openssl (nothing secret is in the
// repository). Without the openssl command every test here is skipped.
const OPENSSL = !missing("openssl");

let dir = "";
let server: Certificate; // localhost, 127.0.0.1, ::1
let other: Certificate; // only other.invalid
let client: Certificate; // a client certificate, CN=client

beforeAll(async () => {
  if (!OPENSSL) return;
  dir = await Deno.makeTempDir({ prefix: "fibernet-tls-" });
  [server, other, client] = await Promise.all([
    Effect.runPromise(generateCertificate(dir, { name: "server" })),
    Effect.runPromise(
      generateCertificate(dir, { name: "other", commonName: "other", hosts: ["other.invalid"] }),
    ),
    Effect.runPromise(
      generateCertificate(dir, { name: "client", commonName: "client", hosts: [] }),
    ),
  ]);
});
afterAll(async () => {
  if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
});

/** Serves `handler` over TLS on a free port of `host` until the test's scope closes. */
const serveTls = <E>(
  handler: Server.Handler<E, never>,
  options: Tls.ListenOptions,
  host = "127.0.0.1",
) =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope;
    const listen = host.includes(":") ? `[${host}]:0` : `${host}:0`;
    // Failed handshakes are logged as warnings by the server; keep the output quiet.
    const context = yield* Layer.buildWithScope(
      Server.serveForever(handler).pipe(Layer.provide(Tls.layer(listen, options))),
      scope,
    ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"));
    const running = yield* Effect.provide(Server.Server, context);
    return Address.format(running.address);
  });

const keyPair = () => ({ cert: server.cert, key: server.key });

/** The error of a failed Effect, or a test failure if it succeeded. */
const failure = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.flatMap(
    Effect.result(effect),
    (r) =>
      Result.isFailure(r) ? Effect.succeed(r.failure) : Effect.die(new Error("expected a failure")),
  );

describe("Tls", () => {
  needsForEach("openssl");

  it.live("echo with certificate files, a custom CA and ALPN, on 127.0.0.1 and ::1", () =>
    Effect.gen(function* () {
      for (const host of hasIpv6 ? ["127.0.0.1", "::1"] : ["127.0.0.1"]) {
        const address = yield* serveTls(echo, {
          certFile: server.certFile,
          keyFile: server.keyFile,
          alpnProtocols: ["echo/1", "other/2"],
        }, host);
        const conn = yield* Tls.connect(address, {
          caFiles: [server.certFile],
          alpnProtocols: ["echo/1"],
          timeout: "5 seconds",
        });
        expect(Tls.isTlsConnection(conn)).toBe(true);
        expect(yield* conn.handshake).toEqual({ alpnProtocol: "echo/1" });
        expect(Address.format(conn.remoteAddress)).toBe(address);
        // 1 MiB through and back, checked byte for byte.
        const payload = pattern(1024 * 1024, 7);
        const reader = yield* Effect.forkChild(conn.readExactly(payload.length));
        yield* conn.write(payload);
        const back = yield* Fiber.await(reader);
        expect(back._tag).toBe("Success");
        if (back._tag === "Success") expect(sameBytes(back.value, payload)).toBe(true);
        // Half-close: the server's handler ends, so the client reads end of stream.
        yield* conn.closeWrite;
        expect(yield* conn.read()).toEqual(Option.none());
      }
      // By host name, with the PEM text inline and no ALPN.
      const address = yield* serveTls(echo, keyPair());
      const port = address.split(":").pop();
      const named = yield* Tls.connect(`localhost:${port}`, { caCerts: [server.cert] });
      expect(yield* named.handshake).toEqual({ alpnProtocol: null });
      yield* named.write("by name");
      expect(text(yield* named.readExactly(7))).toBe("by name");
    }));

  it.live("each client-side handshake failure is a typed error that says what to fix", () =>
    Effect.gen(function* () {
      const good = yield* serveTls(echo, { ...keyPair(), alpnProtocols: ["echo/1"] });
      const unknownIssuer = yield* failure(Effect.scoped(Tls.connect(good)));
      expect(unknownIssuer.reason).toBe("InvalidData");
      expect(unknownIssuer.operation).toBe("handshake");
      expect(unknownIssuer.message).toContain("unknown issuer");
      expect(unknownIssuer.message).toContain("caCerts");

      const wrongName = yield* serveTls(echo, { cert: other.cert, key: other.key });
      const mismatch = yield* failure(
        Effect.scoped(Tls.connect(wrongName, { caCerts: [other.cert] })),
      );
      expect(mismatch.reason).toBe("InvalidData");
      expect(mismatch.message).toContain("does not match the host name");

      const alpn = yield* failure(
        Effect.scoped(Tls.connect(good, { caCerts: [server.cert], alpnProtocols: ["h2"] })),
      );
      expect(alpn.reason).toBe("InvalidData");
      expect(alpn.message).toContain("no ALPN protocol in common");

      // A TLS client at a plain TCP echo server gets its ClientHello back.
      const plainEcho = yield* Effect.gen(function* () {
        const scope = yield* Effect.scope;
        const context = yield* Layer.buildWithScope(
          Server.serveForever(echo).pipe(Layer.provide(Tcp.layer("127.0.0.1:0"))),
          scope,
        );
        return Address.format((yield* Effect.provide(Server.Server, context)).address);
      });
      const notTls = yield* failure(
        Effect.scoped(Tls.connect(plainEcho, { caCerts: [server.cert] })),
      );
      expect(notTls.reason).toBe("InvalidData");
      expect(notTls.message).toContain("does not speak TLS");

      // A server that says nothing: the handshake deadline.
      const silent = yield* Tcp.listen("127.0.0.1:0");
      const timedOut = yield* failure(
        Effect.scoped(
          Tls.connect(silent.address, { caCerts: [server.cert], handshakeTimeout: "300 millis" }),
        ),
      );
      expect(timedOut.reason).toBe("TimedOut");
      expect(timedOut.message).toContain("no TLS handshake within 300 ms");

      // A server that hangs up at once.
      const hangUp = yield* Tcp.listen("127.0.0.1:0");
      yield* Effect.forkChild(
        Effect.forever(Effect.flatMap(hangUp.accept, (conn) => conn.close)),
      );
      const closed = yield* failure(
        Effect.scoped(Tls.connect(hangUp.address, { caCerts: [server.cert] })),
      );
      expect(["InvalidData", "ConnectionReset"]).toContain(closed.reason);

      // And the good server still serves.
      const conn = yield* Tls.connect(good, { caCerts: [server.cert], alpnProtocols: ["echo/1"] });
      yield* conn.write("still fine");
      expect(text(yield* conn.readExactly(10))).toBe("still fine");
    }));

  it.live("server side: a plain TCP client or a silent one fails its own connection, typed", () =>
    Effect.gen(function* () {
      const listener = yield* Tls.listen("127.0.0.1:0", {
        ...keyPair(),
        handshakeTimeout: "300 millis",
      });
      // A plain TCP client writing HTTP at the TLS port; the handler reads first.
      const plain = yield* Tcp.connect(listener.address);
      yield* plain.write("GET / HTTP/1.0\r\n\r\n");
      const first = yield* listener.accept;
      const readError = yield* failure(first.read());
      expect(readError.reason).toBe("InvalidData");
      expect(readError.message).toContain("does not speak TLS");
      // The same, with a handler that writes first (a welcome message).
      const plain2 = yield* Tcp.connect(listener.address);
      yield* plain2.write("HELO\r\n");
      const second = yield* listener.accept;
      const writeError: SocketError.SocketError = yield* failure(second.write("welcome\n"));
      expect(["InvalidData", "Unknown"]).toContain(writeError.reason);
      expect(writeError.message).toContain("does not speak TLS");
      // A client that connects and says nothing is cut off by the handshake deadline,
      // even though the handler is writing, not reading; its socket is closed then
      // (tests/tls-descriptors.test.ts counts the descriptors).
      yield* Tcp.connect(listener.address);
      const third = yield* listener.accept;
      const silentError = yield* failure(third.write("welcome\n"));
      expect(silentError.reason).toBe("TimedOut");
      expect(silentError.message).toContain("no TLS handshake within 300 ms");
      // The listener is unaffected.
      const ok = yield* Effect.forkChild(Tls.connect(listener.address, { caCerts: [server.cert] }));
      const fourth = yield* listener.accept;
      yield* fourth.write("hello");
      const conn = yield* Fiber.await(ok);
      expect(conn._tag).toBe("Success");
      if (conn._tag === "Success") expect(text(yield* conn.value.readExactly(5))).toBe("hello");
    }));

  it.live("Server.serveForever over TLS: 50 clients with bad ones in between, none stops it", () =>
    Effect.gen(function* () {
      const address = yield* serveTls(echo, { ...keyPair(), handshakeTimeout: "2 seconds" });
      const goodClient = (i: number) =>
        Effect.scoped(Effect.gen(function* () {
          const conn = yield* Tls.connect(address, { caCerts: [server.cert] });
          const message = encode(`client ${i} 你好 `.repeat(1 + (i % 7) * 100));
          yield* conn.write(message);
          const back = yield* conn.readExactly(message.length);
          return sameBytes(back, message);
        }));
      const badClient = (i: number) =>
        Effect.scoped(Effect.gen(function* () {
          switch (i % 3) {
            case 0: { // plain TCP garbage
              const conn = yield* Tcp.connect(address);
              yield* conn.write("not TLS at all\r\n");
              yield* Effect.result(conn.read());
              return;
            }
            case 1: // untrusted certificate
              yield* Effect.result(Tls.connect(address));
              return;
            default: { // connect and hang up before any handshake
              const conn = yield* Tcp.connect(address);
              yield* conn.close;
            }
          }
        })).pipe(Effect.result);
      const results = yield* Effect.forEach(
        Array.from({ length: 70 }, (_, i) => i),
        (i) => (i % 7 === 3 ? Effect.as(badClient(i), true) : goodClient(i)),
        { concurrency: "unbounded" },
      );
      expect(results.filter((ok) => ok === true).length).toBe(70);
      expect(yield* goodClient(1000)).toBe(true);
    }));

  it.live("framing works over TLS unchanged", () =>
    Effect.gen(function* () {
      const codec = Framing.lengthPrefixed({ maxFrameLength: 1 << 20 });
      const address = yield* serveTls(
        (conn) => codec.decode(conn).pipe(Stream.run(codec.sink(conn))),
        keyPair(),
      );
      const conn = yield* Tls.connect(address, { caCerts: [server.cert] });
      const frames = Array.from({ length: 50 }, (_, i) => pattern(i * 997, i));
      yield* codec.writeAll(conn, frames);
      yield* conn.closeWrite;
      const back = yield* Stream.runCollect(codec.decode(conn));
      const got = back;
      expect(got.length).toBe(50);
      got.forEach((frame, i) => expect(sameBytes(frame, frames[i])).toBe(true));
    }));

  it.live("STARTTLS upgrades a plain connection after the protocol's go-ahead", () =>
    Effect.gen(function* () {
      // A STARTTLS server (SMTP-like) built on node:tls, which can upgrade server-side.
      const port = yield* startTlsServer("220 go ahead\r\n");
      const plain = yield* Tcp.connect(`127.0.0.1:${port}`);
      expect(text(yield* plain.readExactly(11))).toBe("220 ready\r\n");
      yield* plain.write("STARTTLS\r\n");
      expect(text(yield* plain.readExactly(14))).toBe("220 go ahead\r\n");
      const secure = yield* Tls.startTls(plain, { caCerts: [server.cert] });
      expect(Tls.isTlsConnection(secure)).toBe(true);
      yield* secure.write("secret");
      expect(text(yield* secure.readExactly(11))).toBe("echo:secret");
      // The plain connection is consumed.
      const old = yield* failure(plain.read());
      expect(old.reason).toBe("Closed");
      const again = yield* failure(Effect.scoped(Tls.startTls(secure)));
      expect(again.reason).toBe("Unsupported");
    }));

  it.live("STARTTLS refuses bytes injected before the handshake, untrusted servers, non-TCP", () =>
    Effect.gen(function* () {
      const injected = yield* startTlsServer("220 go ahead\r\nINJECTED");
      const plain = yield* Tcp.connect(`127.0.0.1:${injected}`);
      yield* plain.readExactly(11);
      yield* plain.write("STARTTLS\r\n");
      yield* plain.readExactly(14);
      // "INJECTED" came in the same segment as the go-ahead and is still unread.
      const refused = yield* failure(
        Effect.scoped(Tls.startTls(plain, { caCerts: [server.cert] })),
      );
      expect(refused.reason).toBe("InvalidData");
      expect(refused.message).toContain("injected");

      const port = yield* startTlsServer("220 go ahead\r\n");
      const plain2 = yield* Tcp.connect(`127.0.0.1:${port}`);
      yield* plain2.readExactly(11);
      yield* plain2.write("STARTTLS\r\n");
      yield* plain2.readExactly(14);
      const untrusted = yield* failure(Effect.scoped(Tls.startTls(plain2)));
      expect(untrusted.reason).toBe("InvalidData");
      expect(untrusted.message).toContain("unknown issuer");

      const sockDir = yield* tempDir;
      const unixListener = yield* Unix.listen(`${sockDir}/s.sock`);
      const unixConn = yield* Unix.connect(`${sockDir}/s.sock`);
      yield* Effect.addFinalizer(() =>
        Effect.ignore(Effect.flatMap(unixListener.accept, (c) => c.close))
      );
      const notTcp = yield* failure(Effect.scoped(Tls.startTls(unixConn)));
      expect(notTcp.reason).toBe("Unsupported");
    }));

  it.live("client certificates (mutual TLS) against openssl s_server -Verify", () =>
    Effect.gen(function* () {
      const port = yield* opensslServer();
      const get = (options: Tls.ConnectOptions) =>
        Effect.scoped(Effect.gen(function* () {
          const conn = yield* Tls.connect(`127.0.0.1:${port}`, options);
          yield* conn.write("GET / HTTP/1.0\r\n\r\n");
          const chunks = yield* Stream.runCollect(conn.textStream);
          return chunks.join("");
        }));
      const page = yield* get({
        caCerts: [server.cert],
        certFile: client.certFile,
        keyFile: client.keyFile,
      });
      expect(page).toContain("HTTP/1.0 200 ok");
      expect(page).toContain("Subject: CN=client");
      const refused = yield* failure(get({ caCerts: [server.cert] }));
      expect(refused.reason).toBe("InvalidData");
      expect(refused.message).toContain("requires a client certificate");
    }));

  it.live("certificate and option errors are typed", () =>
    Effect.gen(function* () {
      const reasonOf = <A, E extends { reason: string; message: string }>(
        effect: Effect.Effect<A, E, never>,
      ) => Effect.map(failure(effect), (e) => [e.reason, e.message] as const);
      const listen = (options: Tls.ListenOptions) =>
        reasonOf(Effect.scoped(Tls.listen("127.0.0.1:0", options)));
      expect((yield* listen({}))[0]).toBe("InvalidData");
      const mismatch = yield* listen({ cert: server.cert, key: other.key });
      expect(mismatch[0]).toBe("InvalidData");
      expect(mismatch[1]).toContain("does not belong to the certificate");
      expect((yield* listen({ cert: "not a certificate", key: server.key }))[0]).toBe(
        "InvalidData",
      );
      expect((yield* listen({ certFile: `${dir}/missing.pem`, keyFile: server.keyFile }))[0]).toBe(
        "NotFound",
      );
      expect((yield* listen({ cert: server.cert, certFile: server.certFile, key: server.key }))[0])
        .toBe("InvalidData");
      expect((yield* listen({ cert: server.cert }))[0]).toBe("InvalidData");
      const inUse = yield* Tls.listen("127.0.0.1:0", keyPair());
      expect((yield* listen({ ...keyPair(), backlog: 0 }))[0]).toBe("InvalidAddress");
      expect((yield* reasonOf(Effect.scoped(Tls.listen(inUse.address, keyPair()))))[0]).toBe(
        "AddressInUse",
      );
      const connect = (address: string, options?: Tls.ConnectOptions) =>
        reasonOf(Effect.scoped(Tls.connect(address, options)));
      const port = (inUse.address as Address.InetAddress).port;
      expect((yield* connect(`127.0.0.1:${port}`, { caCerts: ["garbage"] }))[0]).toBe(
        "InvalidData",
      );
      expect((yield* connect(`127.0.0.1:${port}`, { cert: client.cert }))[0]).toBe("InvalidData");
      expect((yield* connect("unix:/tmp/x.sock"))[0]).toBe("InvalidAddress");
      const refused = yield* Tcp.listen("127.0.0.1:0");
      const refusedPort = (refused.address as Address.InetAddress).port;
      yield* refused.close;
      expect((yield* connect(`127.0.0.1:${refusedPort}`))[0]).toBe("ConnectionRefused");
    }));

  it("examples/tls_echo.ts: server and client in one process, with a generated certificate", async () => {
    const out = await runExample(
      "tls_echo.ts",
      ["--allow-net=127.0.0.1", "--allow-run=openssl", "--allow-read", "--allow-write"],
      "hello\n你好，TLS\nq\n",
    );
    const stdout = text(out.stdout);
    expect(out.success, stdout + text(out.stderr)).toBe(true);
    expect(stdout).toContain("over TLS");
    expect(stdout).toContain("echo: hello\n");
    expect(stdout).toContain("echo: 你好，TLS\n");
  });
});

/**
 * A STARTTLS server on a free port: greets with "220 ready", answers the
 * first line with `goAhead`, upgrades to TLS and echoes with an "echo:" prefix.
 */
const startTlsServer = (goAhead: string) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<net.Server>((resolve) => {
        const s = net.createServer((socket) => {
          socket.on("error", () => {});
          socket.write("220 ready\r\n");
          socket.once("data", () => {
            socket.write(goAhead, () => {
              const secure = new tls.TLSSocket(socket, {
                isServer: true,
                cert: server.cert,
                key: server.key,
              });
              secure.on("error", () => {});
              secure.on("data", (data) => secure.write(`echo:${data}`));
            });
          });
        });
        s.listen(0, "127.0.0.1", () => resolve(s));
      })
    ),
    (s) => Effect.sync(() => s.close()),
  ).pipe(Effect.map((s) => (s.address() as net.AddressInfo).port));

/** `openssl s_server` requiring a client certificate signed by (here: equal to) `client`. */
const opensslServer = () =>
  Effect.gen(function* () {
    const probe = yield* Effect.scoped(Tcp.listen("127.0.0.1:0"));
    const port = (probe.address as Address.InetAddress).port;
    const child = yield* Effect.acquireRelease(
      Effect.sync(() =>
        new Deno.Command("openssl", {
          args: [
            "s_server",
            "-accept",
            `127.0.0.1:${port}`,
            "-cert",
            server.certFile,
            "-key",
            server.keyFile,
            "-Verify",
            "1",
            "-verify_return_error",
            "-CAfile",
            client.certFile,
            "-www",
          ],
          stdin: "null",
          stdout: "piped",
          stderr: "null",
        }).spawn()
      ),
      (child) =>
        Effect.promise(async () => {
          try {
            child.kill("SIGTERM");
          } catch {
            // already gone
          }
          await child.status;
        }),
    );
    // Ready once it prints ACCEPT.
    yield* Effect.promise(async () => {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("ACCEPT")) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`openssl s_server exited: ${seen}`);
        seen += value;
      }
      // Keep draining its output so it never blocks on a full pipe.
      (async () => {
        try {
          while (!(await reader.read()).done) { /* drain */ }
        } catch {
          // killed
        }
      })();
    });
    return port;
  });
