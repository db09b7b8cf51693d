// A unix listener's socket file is gone when the program exits after Ctrl-C,
// so the next start binds without replaceStale.
import { describe, expect, it } from "vitest";
import { repoPath } from "./_support/paths.ts";

const startServer = async (path: string) => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-q",
      `--allow-read=${path}`,
      `--allow-write=${path}`,
      `--allow-net=unix:${path}`,
      repoPath("fixtures/unix_server.ts"),
      path,
    ],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!seen.includes("listening on")) {
    const { value, done } = await reader.read();
    if (done) {
      const stderr = await new Response(child.stderr).text();
      throw new Error(`server ended before listening: ${seen} ${stderr}`);
    }
    seen += value;
  }
  return { child, reader };
};

describe("Unix listener under runMain", () => {
  it("SIGINT removes the socket file before the process exits; a restart binds", async () => {
    const dir = await Deno.makeTempDir({ prefix: "fibernet-unix-exit-" });
    const path = `${dir}/echo.sock`;
    try {
      for (let run = 0; run < 3; run++) {
        const { child, reader } = await startServer(path);
        expect(Deno.lstatSync(path).isSocket).toBe(true);
        child.kill("SIGINT");
        const status = await child.status;
        await reader.cancel();
        await child.stderr.cancel();
        expect(status.code).toBe(0);
        // Checked at once: nothing removes it later on the program's behalf.
        expect(() => Deno.lstatSync(path)).toThrow(Deno.errors.NotFound);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }, 60_000);
});
