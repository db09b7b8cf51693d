// examples/upload.ts as a program: server and client end to end, its limits,
// its command line, and its progress line on a terminal and off one.
import { describe, expect, it } from "@effect/vitest";
import { pattern, sameBytes } from "./_support/bytes.ts";
import { exampleArgv, runToEnd, start } from "./_support/examples.ts";
import { runOnPty } from "./_support/pty.ts";
import { needs } from "./_support/needs.ts";

const SERVE = ["--allow-net=127.0.0.1", "--allow-read", "--allow-write"];
const SEND = ["--allow-net=127.0.0.1", "--allow-read"];

const ESC = "\x1b";

const sha256Hex = async (data: Uint8Array): Promise<string> =>
  Array.from(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(data))),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");

/** A temporary directory for one test, removed after it. */
const withDir = async (run: (dir: string) => Promise<void>) => {
  const dir = await Deno.makeTempDir({ prefix: "fibernet-upload-" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
};

/** Starts `upload.ts --serve` and reads its two banner lines; gives the port. */
const serve = async (args: ReadonlyArray<string>) => {
  const server = start("upload.ts", SERVE, ["--serve", "--port", "0", ...args]);
  try {
    const banner = await server.nextLine();
    const limits = await server.nextLine();
    return { server, banner, limits, port: Number(/:(\d+)$/.exec(banner)?.[1]) };
  } catch (error) {
    await server.close();
    throw error;
  }
};

describe("examples/upload.ts", () => {
  it(
    "serves into a directory it creates, uploads with a verified SHA-256, prints its limits",
    async () => {
      await withDir(async (dir) => {
        const data = pattern(3 * 1024 * 1024 + 3, 21);
        await Deno.writeFile(`${dir}/cli.bin`, data);
        const uploads = `${dir}/not/yet/there`;
        const { server, banner, limits, port } = await serve(["--dir", uploads]);
        try {
          expect(banner).toBe(`receiving files into ${uploads} on 127.0.0.1:${port}`);
          expect(limits).toMatch(/^limits: files up to 64\.0 MiB, 16 uploads at once, /);
          const sha = await sha256Hex(data);
          const sent = await runToEnd("upload.ts", SEND, [
            "--send",
            `${dir}/cli.bin`,
            "--to",
            `127.0.0.1:${port}`,
          ]);
          expect(sent.code, sent.stderr).toBe(0);
          // Not a terminal: plain lines, no redraws.
          expect(sent.stdout).toMatch(/^sending 100% /m);
          expect(sent.stdout).not.toContain("\r");
          expect(sent.stdout).not.toContain(ESC);
          expect(sent.stdout).toContain(`verified sha256 ${sha}  cli.bin (${data.length} bytes)`);
          expect(await server.nextLine()).toContain(
            `stored cli.bin (${data.length} bytes, sha256 ${sha})`,
          );
          expect(sameBytes(await Deno.readFile(`${uploads}/cli.bin`), data)).toBe(true);

          const again = await runToEnd("upload.ts", SEND, [
            "--send",
            `${dir}/cli.bin`,
            "--to",
            `127.0.0.1:${port}`,
          ]);
          expect(again.code).toBe(1);
          expect(again.stderr).toBe(
            'upload: file already exists ("cli.bin"): cli.bin already exists in the target directory [reported by the peer]\n',
          );
        } finally {
          await server.close();
        }
      });
    },
    60_000,
  );

  it("--max-size is printed and enforced", async () => {
    await withDir(async (dir) => {
      await Deno.writeFile(`${dir}/big.bin`, pattern(2000));
      const { server, limits, port } = await serve(["--dir", dir, "--max-size", "1000"]);
      try {
        expect(limits).toMatch(/^limits: files up to 1000 B, /);
        const sent = await runToEnd("upload.ts", SEND, [
          "--send",
          `${dir}/big.bin`,
          "--to",
          `127.0.0.1:${port}`,
        ]);
        expect(sent.code).toBe(1);
        expect(sent.stderr).toMatch(/^upload: file too large .*\[reported by the peer\]\n$/);
      } finally {
        await server.close();
      }
    });
  }, 60_000);

  it(
    "the sender checks its file before it connects: a missing file is a one-line error",
    async () => {
      await withDir(async (dir) => {
        // Nothing listens on this port: connecting first would fail differently.
        const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
        const port = probe.addr.port;
        probe.close();
        for (
          const [path, says] of [[`${dir}/missing.png`, "no such file"], [
            dir,
            "not a regular file",
          ]]
        ) {
          const sent = await runToEnd("upload.ts", SEND, [
            "--send",
            path,
            "--to",
            `127.0.0.1:${port}`,
          ]);
          expect(sent.code).toBe(1);
          expect(sent.stderr).toBe(`upload: ${path}: ${says}\n`);
        }
      });
    },
    30_000,
  );

  it(
    "bad command lines: the problem and the usage, exit code 2; --dir that is a file: exit 1",
    async () => {
      await withDir(async (dir) => {
        for (
          const [args, says] of [
            [[], "give either --serve or --send FILE"],
            [["--send", "x"], "--send needs --to HOST:PORT"],
            [["--serve"], "--serve needs --dir DIR"],
            [["--bogus"], "unknown option --bogus"],
            [
              ["--serve", "--dir", dir, "--port", "x"],
              "--port must be a number from 0 to 65535, got x",
            ],
            [["--serve", "--dir", dir, "--to", "h:1"], "--to does not go with --serve"],
            [["--send", "x", "--to", "h:1", "--dir", dir], "--dir does not go with --send"],
          ] as const
        ) {
          const bad = await runToEnd("upload.ts", SERVE, args);
          expect(bad.code, args.join(" ")).toBe(2);
          const [first, second] = bad.stderr.split("\n");
          expect(first).toBe(`upload: ${says}`);
          expect(second).toBe("usage:");
        }
        await Deno.writeTextFile(`${dir}/file`, "");
        const notDir = await runToEnd("upload.ts", SERVE, ["--serve", "--dir", `${dir}/file`]);
        expect(notDir.code).toBe(1);
        expect(notDir.stderr.trim().split("\n")).toHaveLength(1);
        expect(notDir.stderr).toMatch(/^upload: --dir .*\/file: /);
        const help = await runToEnd("upload.ts", SERVE, ["--help"]);
        expect(help.code).toBe(0);
        expect(help.stdout).toMatch(/^usage:/);
      });
    },
    60_000,
  );

  needs("python3", it)(
    "on a 60-column terminal the progress line fits and redraws in place",
    async () => {
      await withDir(async (dir) => {
        await Deno.writeFile(`${dir}/wide.bin`, pattern(8 * 1024 * 1024, 3));
        const { server, port } = await serve(["--dir", `${dir}/in`]);
        try {
          const result = await runOnPty(
            exampleArgv("upload.ts", SEND, [
              "--send",
              `${dir}/wide.bin`,
              "--to",
              `127.0.0.1:${port}`,
            ]),
            [],
            { columns: 60, exitWithinMs: 30_000 },
          );
          expect(result.code, result.output).toBe(0);
          // Each draw: carriage return, the line, clear to the end of the line.
          const draws = result.output.split("\r").flatMap((part) =>
            /^(hashing|sending) /.test(part) ? [part.split(`${ESC}[K`)[0]] : []
          );
          expect(draws.length).toBeGreaterThanOrEqual(2);
          for (const draw of draws) {
            expect(draw.length, draw).toBeLessThan(60);
            expect(draw).not.toContain("\n");
            expect(draw).not.toContain(ESC);
          }
          expect(result.output).toContain(`${ESC}[K`);
          expect(result.output).toContain("verified sha256");
        } finally {
          await server.close();
        }
      });
    },
    60_000,
  );
});
