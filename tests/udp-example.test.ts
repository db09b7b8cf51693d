// examples/udp.ts against the tutorial's own Python UDP code, both ways.
import { describe, expect, it } from "@effect/vitest";
import { repoPath } from "./_helpers.ts";
import { named, toolMissing } from "./_support/tools.ts";

const pythonMissing = toolMissing("python3");

const example = repoPath("../examples/udp.ts");
const decoder = new TextDecoder();

/** Reads a child's output line by line. */
const lines = (stream: ReadableStream<Uint8Array>) => {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  return async (): Promise<string> => {
    while (true) {
      const newline = buffered.indexOf("\n");
      if (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        return line;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error(`output ended; last: ${JSON.stringify(buffered)}`);
      buffered += value;
    }
  };
};

const deno = (args: Array<string>, stdin: "piped" | "null" = "null") =>
  new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net=127.0.0.1", example, ...args],
    stdin,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();

describe("examples/udp.ts with the tutorial's Python code", () => {
  it.skipIf(pythonMissing)(
    named(
      "--serve prints each datagram from the Python client (sendto until exit) with its sender",
      pythonMissing,
    ),
    async () => {
      const server = deno(["--serve", "--port", "0"]);
      try {
        const next = lines(server.stdout);
        const banner = await next();
        const port = Number(/^listening on 127\.0\.0\.1:(\d+)$/.exec(banner)?.[1]);
        expect(port).toBeGreaterThan(0);
        // The tutorial's client, Python 3, with input() replaced by a list.
        const client = new Deno.Command("python3", {
          args: [
            "-c",
            `
import socket
ip_port = ('127.0.0.1', ${port})
sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
for inp in ['hello', '  你好，UDP  ', 'exit', 'never sent']:
    inp = inp.strip()
    if inp == 'exit':
        break
    sk.sendto(inp.encode(), ip_port)
print(sk.getsockname()[1])
sk.close()
`,
          ],
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(20_000),
        });
        const out = await client.output();
        expect(out.success, decoder.decode(out.stderr)).toBe(true);
        const pythonPort = decoder.decode(out.stdout).trim();
        expect(await next()).toBe(`127.0.0.1:${pythonPort}: hello`);
        expect(await next()).toBe(`127.0.0.1:${pythonPort}: 你好，UDP`);
      } finally {
        server.kill("SIGINT");
        await server.status;
        await server.stderr.cancel();
      }
    },
  );

  it.skipIf(pythonMissing)(
    named(
      "--send delivers each stdin line as one datagram to the Python server's recv(1024)",
      pythonMissing,
    ),
    async () => {
      // The tutorial's server, Python 3: bind, then recv(1024) in a loop.
      const server = new Deno.Command("python3", {
        args: [
          "-c",
          `
import socket
sk = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, 0)
sk.bind(('127.0.0.1', 0))
sk.settimeout(20)
print(sk.getsockname()[1], flush=True)
for _ in range(3):
    data = sk.recv(1024)
    print(repr(data.decode()), flush=True)
`,
        ],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(25_000),
      }).spawn();
      const next = lines(server.stdout);
      const port = Number(await next());
      const sender = deno(["--send", `127.0.0.1:${port}`], "piped");
      const writer = sender.stdin.getWriter();
      await writer.write(new TextEncoder().encode("hello\n  你好  \nlast one\nexit\nafter exit\n"));
      await writer.close();
      const sent = await sender.output();
      expect(sent.success, decoder.decode(sent.stderr)).toBe(true);
      expect([await next(), await next(), await next()]).toEqual([
        "'hello'",
        "'你好'",
        "'last one'",
      ]);
      expect((await server.status).success).toBe(true);
      await server.stderr.cancel();
    },
  );

  it("--help, and a one-line error for a bad address", async () => {
    const help = await deno(["--help"]).output();
    expect(help.success).toBe(true);
    expect(decoder.decode(help.stdout)).toContain("--send H:P");
    const bad = await deno(["--send", "nonsense"]).output();
    expect(bad.code).toBe(1);
    const stderr = decoder.decode(bad.stderr).trim();
    expect(stderr.split("\n")).toHaveLength(1);
    expect(stderr).toMatch(/^udp: connect "nonsense": invalid address/);
  });
});
