// examples/rpc.ts: its command line, its failures (one line each), and the
// limits its server sets for clients it cannot trust.
import * as SocketServer from "@effect/platform/SocketServer";
import { describe, expect, it } from "@effect/vitest";
import { Context, Effect, Layer } from "effect";
import { MAX_CALLS_PER_CLIENT, MAX_MESSAGE_BYTES, serverLayer } from "../examples/rpc.ts";
import { runToEnd } from "./_support/examples.ts";

const FLAGS = ["--allow-net=127.0.0.1", "--allow-env"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A loopback port nothing listens on (it was free a moment ago). */
const freePort = (): number => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
};

/** The example's server on a free port, in the test's scope; gives the port. */
const startServer = Effect.gen(function* () {
  const context = yield* Layer.build(serverLayer({ host: "127.0.0.1", port: 0 }));
  return (Context.get(context, SocketServer.SocketServer).address as { port: number }).port;
});

/** A raw client: sends bytes, reads what comes back until the server closes. */
const rawClient = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(() => Deno.connect({ hostname: "127.0.0.1", port })),
    (conn) => Effect.sync(() => conn.close()),
  ).pipe(Effect.map((conn) => ({
    send: (bytes: Uint8Array) =>
      Effect.promise(async () => {
        for (let rest = bytes; rest.length > 0;) rest = rest.subarray(await conn.write(rest));
      }),
    /** What it read until EOF or a reset (then `closed`), `enough` of it, or `ms` passed. */
    readAll: (ms: number, enough: (text: string) => boolean = () => false) =>
      Effect.promise(async () => {
        const buffer = new Uint8Array(64 * 1024);
        let text = "";
        const deadline = Date.now() + ms;
        while (Date.now() < deadline && !enough(text)) {
          let timer: ReturnType<typeof setTimeout> | undefined;
          const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), 500)));
          const n = await Promise.race([conn.read(buffer).catch(() => null), late]);
          clearTimeout(timer);
          if (n === null) return { text, closed: true };
          if (n !== "late") text += decoder.decode(buffer.subarray(0, n));
        }
        return { text, closed: false };
      }),
  })));

const request = (id: number, tag: string, payload: unknown) =>
  JSON.stringify({ _tag: "Request", id: String(id), tag, payload, headers: [] }) + "\n";

describe("examples/rpc.ts as a program", () => {
  it("--help and an unknown mode print usage instead of running the demo", async () => {
    const help = await runToEnd("rpc.ts", FLAGS, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage:\n {2}rpc\.ts /);
    const unknown = await runToEnd("rpc.ts", FLAGS, ["serve"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toMatch(/^rpc: unknown mode serve\nusage:\n/);
  }, 30_000);

  it("the demo runs in one process", async () => {
    const demo = await runToEnd("rpc.ts", FLAGS, []);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toContain("Add(2, 40) = 42\n");
    expect(demo.stdout).toContain("Divide(1, 0) = DivisionByZero(1)\n");
    expect(demo.stdout).toContain("Countdown(10) streamed: 10 9 8 7 6 5 4 3 2 1 0\n");
  }, 30_000);

  it("a client with no server gives up after its retries with one line", async () => {
    const port = freePort();
    const client = await runToEnd("rpc.ts", FLAGS, ["client", String(port)]);
    expect(client.code).toBe(1);
    expect(client.stdout).toBe("");
    expect(client.stderr).toMatch(
      new RegExp(
        `^rpc: no server after 7 tries: connect 127\\.0\\.0\\.1:${port}: connection refused.*\\n$`,
      ),
    );
  }, 30_000);

  it("a busy port is one line, not a stack trace", async () => {
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    try {
      const server = await runToEnd("rpc.ts", FLAGS, ["server", String(busy.addr.port)]);
      expect(server.code).toBe(1);
      expect(server.stderr).toMatch(/^rpc: listen 127\.0\.0\.1:\d+: address already in use.*\n$/);
    } finally {
      busy.close();
    }
  }, 30_000);
});

describe("examples/rpc.ts server limits against a hostile client", () => {
  it.scopedLive(
    "a line longer than the message cap closes the connection",
    () =>
      Effect.gen(function* () {
        const client = yield* rawClient(yield* startServer);
        yield* client.send(new Uint8Array(MAX_MESSAGE_BYTES * 2).fill(0x61));
        expect((yield* client.readAll(10_000)).closed).toBe(true);
      }),
    30_000,
  );

  it.scopedLive("a line that is not JSON closes the connection", () =>
    Effect.gen(function* () {
      const client = yield* rawClient(yield* startServer);
      yield* client.send(encoder.encode("not json\n"));
      expect((yield* client.readAll(10_000)).closed).toBe(true);
    }), 30_000);

  it.scopedLive(
    "a well-behaved client with as many calls running as allowed is served",
    () =>
      Effect.gen(function* () {
        const client = yield* rawClient(yield* startServer);
        let calls = "";
        for (let id = 1; id <= MAX_CALLS_PER_CLIENT; id++) {
          calls += request(id, "SlowEcho", { text: `t${id}`, millis: 200 });
        }
        yield* client.send(encoder.encode(calls));
        const { text } = yield* client.readAll(3_000);
        const exits = text.split("\n").filter((line) => line.includes('"_tag":"Exit"'));
        expect(exits).toHaveLength(MAX_CALLS_PER_CLIENT);
      }),
    30_000,
  );

  it.scopedLive(
    "one call more than allowed running closes the connection",
    () =>
      Effect.gen(function* () {
        const client = yield* rawClient(yield* startServer);
        let calls = "";
        for (let id = 1; id <= MAX_CALLS_PER_CLIENT + 1; id++) {
          calls += request(id, "SlowEcho", { text: "x", millis: 1000 });
        }
        yield* client.send(encoder.encode(calls));
        const { closed, text } = yield* client.readAll(10_000);
        expect(closed).toBe(true);
        expect(text).not.toContain('"_tag":"Exit"');
      }),
    30_000,
  );

  it.scopedLive(
    "payloads outside their schema's bounds are refused, not run",
    () =>
      Effect.gen(function* () {
        const client = yield* rawClient(yield* startServer);
        yield* client.send(encoder.encode(
          request(1, "SlowEcho", { text: "x", millis: 3_600_000 }) +
            request(2, "Countdown", { from: 1e9 }) +
            request(3, "Add", { a: 1, b: 2 }),
        ));
        const { text } = yield* client.readAll(10_000, (text) => text.split("\n").length > 3);
        const exits = text.split("\n").filter(Boolean).map((line) => JSON.parse(line));
        const byId = new Map(exits.map((m) => [m.requestId, m.exit]));
        expect(byId.get("1")?._tag).toBe("Failure");
        expect(byId.get("2")?._tag).toBe("Failure");
        expect(byId.get("3")).toEqual({ _tag: "Success", value: 3 });
      }),
    30_000,
  );
});
