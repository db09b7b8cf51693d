// A peer pipelining effect/rpc requests as fast as it can, without reading
// the replies, must not grow the server without bound: its connection stops
// being read once the replies back up (TCP pushes back on the peer), and the
// server keeps answering other clients. What is live is measured as the V8
// heap in use after a full GC; RSS also counts the heap V8 reserves under the
// allocation rate of a flood (flat, not growing with the flood).
import { describe, expect, it } from "@effect/vitest";
import { Effect, Layer } from "effect";
import { RpcClient, RpcSerialization } from "effect/rpc";
import { DenoSocket } from "../src/platform/mod.ts";
import { FloodRpcs } from "./fixtures/rpc_flood_server.ts";
import { repoPath } from "./_support/paths.ts";

const rssMiB = (pid: number): number => {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)![1]) / 1024;
};

/** NDJSON requests with ids from `from`, each carrying about 200 bytes of text. */
const requests = (from: number, count: number): Uint8Array => {
  const text = "x".repeat(200);
  let out = "";
  for (let id = from; id < from + count; id++) {
    out += JSON.stringify({
      _tag: "Request",
      id: String(id),
      tag: "Echo",
      payload: { text },
      headers: [],
    }) + "\n";
  }
  return new TextEncoder().encode(out);
};

const client = (port: number) =>
  RpcClient.layerProtocolSocket().pipe(
    Layer.provide(DenoSocket.layerNet({ host: "127.0.0.1", port })),
    Layer.provide(RpcSerialization.layerNdjson),
  );

/** One Echo call from a well-behaved client. */
const call = (port: number) =>
  Effect.flatMap(RpcClient.make(FloodRpcs), (rpc) => rpc.Echo({ text: "still here" })).pipe(
    Effect.scoped,
    Effect.provide(client(port)),
    Effect.timeout("10 seconds"),
  );

/** The server's V8 heap in use after a full GC, in MiB. */
const liveHeapMiB = (port: number) =>
  Effect.flatMap(RpcClient.make(FloodRpcs), (rpc) => rpc.Memory()).pipe(
    Effect.map((bytes) => bytes / 1048576),
    Effect.scoped,
    Effect.provide(client(port)),
    Effect.timeout("10 seconds"),
  );

describe("an effect/rpc request flood through DenoSocketServer", () => {
  it.live(
    "a peer that never reads replies costs the server a bounded amount of memory",
    () =>
      Effect.gen(function* () {
        const child = new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            "-q",
            "--allow-net=127.0.0.1",
            "--allow-env",
            "--v8-flags=--expose-gc",
            repoPath("fixtures/rpc_flood_server.ts"),
          ],
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        try {
          const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
          let seen = "";
          while (!/listening on (\d+)/.test(seen)) {
            const { value, done } = yield* Effect.promise(() => reader.read());
            if (done) throw new Error(`server ended: ${seen}`);
            seen += value;
          }
          const port = Number(/listening on (\d+)/.exec(seen)![1]);
          // Warm up, then take the baselines.
          for (let i = 0; i < 20; i++) expect(yield* call(port)).toBe("still here");
          const heapBefore = yield* liveHeapMiB(port);
          const rssBefore = rssMiB(child.pid);
          // The flood: 5 s of pipelined requests, replies never read.
          const flood = yield* Effect.promise(() => Deno.connect({ hostname: "127.0.0.1", port }));
          let sent = 0;
          let rssPeak = rssBefore;
          const deadline = Date.now() + 5_000;
          const pushing = (async () => {
            let id = 0;
            while (Date.now() < deadline) {
              const batch = requests(id, 500);
              id += 500;
              let offset = 0;
              while (offset < batch.length) offset += await flood.write(batch.subarray(offset));
              sent += 500;
            }
          })().catch(() => {});
          while (Date.now() < deadline) {
            yield* Effect.sleep("250 millis");
            rssPeak = Math.max(rssPeak, rssMiB(child.pid));
          }
          // Other clients are still answered while the flood is pending, and
          // what the flooded connection holds is bounded.
          expect(yield* call(port)).toBe("still here");
          const heapDuring = yield* liveHeapMiB(port);
          rssPeak = Math.max(rssPeak, rssMiB(child.pid));
          flood.close();
          yield* Effect.promise(() => pushing);
          console.log(
            `rpc flood: ${sent} requests sent; live heap ${heapBefore.toFixed(1)} → ` +
              `${heapDuring.toFixed(1)} MiB; RSS ${rssBefore.toFixed(0)} → peak ${
                rssPeak.toFixed(0)
              } MiB`,
          );
          expect(sent).toBeGreaterThan(0);
          expect(heapDuring - heapBefore, `live heap ${heapBefore} → ${heapDuring} MiB`)
            .toBeLessThan(32);
          expect(rssPeak - rssBefore, `RSS ${rssBefore} → peak ${rssPeak} MiB`).toBeLessThan(192);
        } finally {
          child.kill("SIGKILL");
          yield* Effect.promise(() => child.status);
          yield* Effect.promise(() => child.stderr.cancel()).pipe(Effect.ignore);
        }
      }),
    60_000,
  );
});
