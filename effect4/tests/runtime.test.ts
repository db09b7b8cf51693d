import { describe, expect, it } from "vitest";
import { repoPath } from "./_support/paths.ts";

const fixture = (name: string) => repoPath(`./fixtures/${name}`);

/** Starts a fixture in a child deno process and waits for its `listening on` line. */
const spawn = async (name: string, args: string[] = []) => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", "--allow-net=127.0.0.1", fixture(name), ...args],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const waitFor = async (pattern: RegExp): Promise<RegExpMatchArray> => {
    while (true) {
      const match = seen.match(pattern);
      if (match) return match;
      const { value, done } = await lines.read();
      if (done) throw new Error(`child ended before ${pattern}: ${seen}`);
      seen += value;
    }
  };
  const [, port] = await waitFor(/listening on 127\.0\.0\.1:(\d+)/);
  return { child, port: Number(port), waitFor, release: () => lines.cancel() };
};

const refused = async (port: number) => {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return false;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionRefused;
  }
};

describe("DenoRuntime.runMain", () => {
  it("SIGINT shuts the server down gracefully: exit 0, listener closed", async () => {
    const { child, port, waitFor, release } = await spawn("slow_shutdown.ts", ["0.2"]);
    const client = await Deno.connect({ hostname: "127.0.0.1", port });
    await waitFor(/handler started/);
    child.kill("SIGINT");
    const status = await child.status;
    await release().catch(() => {});
    const stderr = await new Response(child.stderr).text();
    expect(status.code).toBe(0);
    expect(await refused(port)).toBe(true);
    // The operator is told what happens, on stderr, one line each (Effect 4's log format).
    expect(stderr).toMatch(
      /^\[[\d:.]+\] INFO \(#\d+\): SIGINT: shutting down; send it again to exit at once$/m,
    );
    expect(stderr).toMatch(
      /^\[[\d:.]+\] INFO \(#\d+\): shutdown: draining 1 connection\(s\), up to 200ms$/m,
    );
    // The client's connection was closed by the shutdown: it reads "hi", then the end.
    const buffer = new Uint8Array(16);
    const n = await client.read(buffer);
    expect(new TextDecoder().decode(buffer.subarray(0, n ?? 0))).toBe("hi");
    expect(await client.read(buffer).catch(() => null)).toBe(null);
    client.close();
  }, 30_000);

  it("SIGTERM does the same", async () => {
    const { child, port, release } = await spawn("slow_shutdown.ts", ["0.2"]);
    child.kill("SIGTERM");
    const status = await child.status;
    await release().catch(() => {});
    await child.stderr.cancel();
    expect(status.code).toBe(0);
    expect(await refused(port)).toBe(true);
  }, 30_000);

  it("a second SIGINT during a slow shutdown exits at once with 130", async () => {
    const { child, port, waitFor, release } = await spawn("slow_shutdown.ts", ["60"]);
    const client = await Deno.connect({ hostname: "127.0.0.1", port });
    await waitFor(/handler started/);
    child.kill("SIGINT");
    // The shutdown now waits up to 60 s for the handler; the listener is already closed.
    while (!(await refused(port))) await new Promise((r) => setTimeout(r, 20));
    child.kill("SIGINT");
    const status = await child.status;
    await release().catch(() => {});
    await child.stderr.cancel();
    client.close();
    expect(status.code).toBe(130);
  }, 30_000);

  it("a failing main exits 1 and prints the error readably", async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-q", "--allow-net=127.0.0.1", fixture("fails.ts")],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    expect(out.code).toBe(1);
    expect(new TextDecoder().decode(out.stderr)).toContain("connection refused");
  }, 30_000);
});
