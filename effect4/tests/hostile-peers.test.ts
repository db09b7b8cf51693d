// Peers that stop reading: a write that makes no progress for writeTimeout
// ends the connection and frees its slot, for fiber handlers and for a Loop.
import { describe, expect, it } from "@effect/vitest";
import { Effect, Schedule } from "effect";
import { Server, Tcp } from "../mod.ts";
import { text } from "./_support/bytes.ts";
import { startServer } from "./_support/net.ts";
import { openTcpSockets } from "./_support/process.ts";

/** A raw client that never reads; with `flood`, it writes for as long as the server takes bytes. */
const nonReader = async (port: number, flood = false): Promise<Deno.Conn> => {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  if (flood) {
    // In the background: the writes stall once the server stops taking bytes.
    const chunk = new Uint8Array(256 * 1024);
    (async () => {
      while (true) await conn.write(chunk);
    })().catch(() => {});
  }
  return conn;
};

const served = (port: number) =>
  Effect.gen(function* () {
    const conn = yield* Tcp.connect(`127.0.0.1:${port}`);
    yield* conn.write("ping");
    return text(yield* conn.readExactly(4));
  }).pipe(Effect.scoped, Effect.timeout("10 seconds"));

describe("peers that stop reading", () => {
  it.live("a fiber handler blocked in write is closed after writeTimeout; its slot frees", () =>
    Effect.gen(function* () {
      const chunk = new Uint8Array(64 * 1024);
      let greeted = 0;
      const server = yield* startServer(
        (conn) =>
          Effect.gen(function* () {
            const first = yield* conn.readExactly(4);
            if (text(first) === "ping") {
              greeted++;
              return yield* conn.write(first);
            }
            // A download the peer never reads.
            while (true) yield* conn.write(chunk);
          }),
        { maxConnections: 3, idleTimeout: "1 minute", writeTimeout: "500 millis" },
      );
      const port = (server.address as { port: number }).port;
      const fds = openTcpSockets();
      const hogs = yield* Effect.promise(() =>
        Promise.all([1, 2, 3].map(async () => {
          const conn = await nonReader(port);
          await conn.write(new TextEncoder().encode("pull"));
          return conn;
        }))
      );
      // Every slot is held by a peer that does not read; a new client is
      // served once the stalled writes are cut.
      expect(yield* served(port)).toBe("ping");
      expect(greeted).toBe(1);
      yield* Effect.repeat(server.activeConnections, {
        until: (n) => n === 0,
        schedule: Schedule.spaced("50 millis"),
      }).pipe(Effect.timeout("10 seconds"));
      for (const hog of hogs) hog.close();
      // No socket descriptor is left behind (no linger for a peer that does not read).
      yield* Effect.repeat(Effect.sync(openTcpSockets), {
        until: (n) => n <= fds,
        schedule: Schedule.spaced("50 millis"),
      }).pipe(Effect.timeout("10 seconds"));
    }));

  it.live("Server.echo to peers that send and never read: closed after writeTimeout", () =>
    Effect.gen(function* () {
      const server = yield* startServer(Server.echo, {
        maxConnections: 2,
        idleTimeout: "1 minute",
        writeTimeout: "500 millis",
      });
      const port = (server.address as { port: number }).port;
      const hogs = yield* Effect.promise(() =>
        Promise.all([1, 2].map(() => nonReader(port, true)))
      );
      expect(yield* served(port)).toBe("ping");
      for (const hog of hogs) hog.close();
    }));
});
