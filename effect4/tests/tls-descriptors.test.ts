// Clients that connect to a TLS server and never complete their handshake
// (silent, or stopped half-way through a ClientHello) must not pin the
// server's descriptors: each one counts against maxConnections until its
// socket is really closed, and the handshake deadline closes it. (Only TCP
// sockets are counted: vitest 5 under Deno opens a socket pair of its own in
// each test process at a moment that varies.)
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest";
import { Effect, Layer, References } from "effect";
import { Address, Server, Tls } from "../mod.ts";
import { text } from "./_support/bytes.ts";
import { needsForEach } from "./_support/needs.ts";
import { selfSignedCert } from "./_support/tls.ts";
import { openTcpSockets } from "./_support/process.ts";

const linux = Deno.build.os === "linux";

let dir = "";
let cert = "";
let key = "";

beforeAll(async () => {
  dir = await Deno.makeTempDir({ prefix: "fibernet-tls-fds-" });
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

/**
 * A child process holding `count` connections to `port` that never finish a
 * TLS handshake: half say nothing, half send the first bytes of a ClientHello
 * and stop. They stay open until the child is killed.
 */
const stalledClients = (port: number, count: number) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const script = `
        const conns = [];
        // A TLS record header announcing a 512-byte handshake message, then its first bytes.
        const partial = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
        for (let i = 0; i < ${count}; i++) {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: ${port} });
          if (i % 2 === 1) await conn.write(partial);
          conns.push(conn);
        }
        console.log("ready");
        setInterval(() => {}, 60_000); // stay connected until killed
      `;
      const child = new Deno.Command(Deno.execPath(), {
        args: ["eval", script],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!seen.includes("ready")) {
        const { value, done } = await reader.read();
        if (done) throw new Error("the stalled clients' process ended early");
        seen += value;
      }
      reader.releaseLock();
      return child;
    }),
    (child) =>
      Effect.promise(async () => {
        try {
          child.kill("SIGKILL");
        } catch {
          // already gone
        }
        await child.status;
        await child.stdout.cancel().catch(() => {});
      }),
  );

/** Polls `condition` every 50 ms until it holds or `timeoutMs` passes; returns whether it held. */
const eventually = (condition: () => boolean, timeoutMs: number) =>
  Effect.promise(async () => {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) return false;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return true;
  });

describe("Tls server descriptors", () => {
  needsForEach("openssl");

  it.live.skipIf(!linux)(
    "40 clients that never finish their handshake: the server's descriptors come back within the deadline",
    () =>
      Effect.gen(function* () {
        const scope = yield* Effect.scope;
        const context = yield* Layer.buildWithScope(
          Server.serveForever(Server.echo, { maxConnections: 5 }).pipe(
            Layer.provide(Tls.layer("127.0.0.1:0", { cert, key, handshakeTimeout: "300 millis" })),
          ),
          scope,
        ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"));
        const server = yield* Effect.provide(Server.Server, context);
        const address = Address.format(server.address);
        const port = (server.address as Address.InetAddress).port;
        const baseline = openTcpSockets();

        yield* stalledClients(port, 40);
        // 40 clients, 5 at a time, 300 ms each: about 2.4 s; the bound leaves room for a slow machine.
        const released = yield* eventually(() => openTcpSockets() <= baseline, 15_000);
        const held = openTcpSockets() - baseline;
        expect(held, `${held} server sockets still open`).toBeLessThanOrEqual(0);
        expect(released).toBe(true);
        expect(yield* server.activeConnections).toBe(0);

        // The stalled clients are still connected; a real one is served.
        const conn = yield* Tls.connect(address, { caCerts: [cert], timeout: "10 seconds" });
        yield* conn.write("still serving");
        expect(text(yield* conn.readExactly(13))).toBe("still serving");
      }),
    30_000,
  );

  it.live("a handler that never touches its connection: a silent client is still cut off at the deadline", () =>
    Effect.gen(function* () {
      const scope = yield* Effect.scope;
      const context = yield* Layer.buildWithScope(
        Server.serveForever(() => Effect.never, { shutdownTimeout: 0 }).pipe(
          Layer.provide(Tls.layer("127.0.0.1:0", { cert, key, handshakeTimeout: "300 millis" })),
        ),
        scope,
      ).pipe(Effect.provideService(References.MinimumLogLevel, "Error"));
      const server = yield* Effect.provide(Server.Server, context);
      const port = (server.address as Address.InetAddress).port;
      const outcome = yield* Effect.promise(async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const still = new Promise<string>((resolve) => {
          timer = setTimeout(() => resolve("still open after 10 s"), 10_000);
        });
        const read = conn.read(new Uint8Array(64)).then(
          (n) => (n === null ? "closed by the server" : `got ${n} bytes`),
          () => "closed by the server",
        );
        const result = await Promise.race([read, still]);
        clearTimeout(timer);
        conn.close();
        return result;
      });
      expect(outcome).toBe("closed by the server");
    }));
});
