// examples/rpc.ts: its command line, its failures (one line each), and the
// limits its server sets for clients it cannot trust.
import { describe, expect, it } from "@effect/vitest";
import { Context, Effect, Layer } from "effect";
import { SocketServer } from "effect/socket/SocketServer";
import { MAX_CALLS_PER_CLIENT, MAX_MESSAGE_BYTES, serverLayer } from "../examples/rpc.ts";
import { freePort } from "./_support/net.ts";

const FLAGS = ["--allow-net=127.0.0.1"];
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `deno run FLAGS examples/rpc.ts ARGS` to its end, stdin closed: exit code, stdout, stderr. */
const runToEnd = async (args: ReadonlyArray<string>) => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...FLAGS, new URL("../examples/rpc.ts", import.meta.url).pathname, ...args],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  });
  const out = await child.output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
};

/** The example's server on a free port, in the test's scope; gives the port. */
const startServer = Effect.gen(function* () {
  const context = yield* Layer.build(serverLayer({ host: "127.0.0.1", port: 0 }));
  const address = Context.get(context, SocketServer).address;
  return address._tag === "UnixPathAddress" ? -1 : address.port;
});

/** A raw client: sends bytes, reads what comes back until the server closes. */
const rawClient = (port: number) =>
  Effect.acquireRelease(
    Effect.promise(() => Deno.connect({ hostname: "127.0.0.1", port })),
    (conn) =>
      Effect.sync(() => {
        try {
          conn.close();
        } catch {
          // Closed by the server already.
        }
      }),
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

/** The messages of NDJSON text. */
const messages = (text: string): Array<Record<string, unknown>> =>
  text.split("\n").filter(Boolean).map((line) => JSON.parse(line));

describe("examples/rpc.ts as a program", () => {
  it("--help and an unknown mode print usage instead of running the demo", async () => {
    const help = await runToEnd(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage:\n {2}rpc\.ts /);
    const unknown = await runToEnd(["serve"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe("");
    expect(unknown.stderr).toMatch(/^rpc: unknown mode serve\nusage:\n/);
  }, 30_000);

  it("the demo runs in one process", async () => {
    const demo = await runToEnd([]);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/^5 calls of 200 ms each, concurrently: one two three four five/);
    expect(demo.stdout).toContain("Add(2, 40) = 42\n");
    expect(demo.stdout).toContain("Divide(1, 0) = DivisionByZero(1)\n");
    expect(demo.stdout).toContain("Countdown(10) streamed: 10 9 8 7 6 5 4 3 2 1 0\n");
  }, 30_000);

  it("a client with no server gives up after its retries with one line", async () => {
    const port = freePort();
    const client = await runToEnd(["client", String(port)]);
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
      const server = await runToEnd(["server", String(busy.addr.port)]);
      expect(server.code).toBe(1);
      expect(server.stderr).toMatch(/^rpc: listen 127\.0\.0\.1:\d+: address already in use.*\n$/);
    } finally {
      busy.close();
    }
  }, 30_000);
});

describe("examples/rpc.ts server limits against a hostile client", () => {
  it.live(
    "a line longer than the message cap closes the connection",
    () =>
      Effect.gen(function* () {
        const client = yield* rawClient(yield* startServer);
        yield* client.send(new Uint8Array(MAX_MESSAGE_BYTES * 2).fill(0x61));
        expect((yield* client.readAll(10_000)).closed).toBe(true);
      }),
    30_000,
  );

  it.live(
    "a line that is not JSON is answered with an error and forgotten; serving goes on",
    () =>
      Effect.gen(function* () {
        const client = yield* rawClient(yield* startServer);
        yield* client.send(encoder.encode("not json\n"));
        const refused = yield* client.readAll(10_000, (text) => text.includes("\n"));
        expect(messages(refused.text)).toMatchObject([{
          _tag: "Defect",
          defect: { name: "NdjsonDecodeError" },
        }]);
        yield* client.send(encoder.encode(request(1, "Add", { a: 40, b: 2 })));
        const served = yield* client.readAll(10_000, (text) => text.includes("\n"));
        expect(messages(served.text)).toEqual([
          { _tag: "Exit", requestId: "1", exit: { _tag: "Success", value: 42 } },
        ]);
      }),
    30_000,
  );

  it.live(
    "a well-behaved client with as many calls running as allowed is served",
    () =>
      Effect.gen(function* () {
        const client = yield* rawClient(yield* startServer);
        let calls = "";
        for (let id = 1; id <= MAX_CALLS_PER_CLIENT; id++) {
          calls += request(id, "SlowEcho", { text: `t${id}`, millis: 200 });
        }
        yield* client.send(encoder.encode(calls));
        const { text } = yield* client.readAll(
          10_000,
          (text) => text.split('"_tag":"Exit"').length > MAX_CALLS_PER_CLIENT,
        );
        const exits = messages(text).filter((m) => m._tag === "Exit");
        expect(exits).toHaveLength(MAX_CALLS_PER_CLIENT);
      }),
    30_000,
  );

  it.live(
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

  it.live(
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
        const byId = new Map(messages(text).map((m) => [m.requestId, m.exit]));
        expect(byId.get("1")).toMatchObject({ _tag: "Failure" });
        expect(byId.get("2")).toMatchObject({ _tag: "Failure" });
        expect(byId.get("3")).toEqual({ _tag: "Success", value: 3 });
      }),
    30_000,
  );
});
