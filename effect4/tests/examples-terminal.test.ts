// The interactive examples as a person uses them: on a real terminal (a
// pseudo-terminal that stays open, typed into line by line) and with piped
// stdin that stays open. Quitting must end the process; no end of input is
// needed. Also: every example refuses unknown flags and missing values.
import { describe, expect, it } from "@effect/vitest";
import { exampleArgv, runToEnd, start } from "./_support/examples.ts";
import { runOnPty } from "./_support/pty.ts";
import { needs } from "./_support/needs.ts";

const NET = ["--allow-net=127.0.0.1"];
const TLS = [...NET, "--allow-run=openssl", "--allow-read", "--allow-write"];
/** On a pty (python3 drives it); with openssl for the TLS example's certificate. */
const onPty = needs("python3", it);
const onPtyWithTls = needs("python3", needs("openssl", it));

describe("interactive examples on a terminal exit when the user quits", () => {
  onPty("robot.ts: a line, then q", async () => {
    const result = await runOnPty(exampleArgv("robot.ts", NET), [
      { waitFor: "(q 退出) > ", type: "hello 你好\n" },
      { waitFor: "(q 退出) > ", type: "q\n" },
    ]);
    expect(result.error).toBeUndefined();
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("欢迎");
    // The typed line (echoed by the terminal), then the robot's echo.
    expect(result.output).toContain("hello 你好\r\nhello 你好\r\n");
  }, 40_000);

  onPty("robot.ts: Ctrl-D quits too", async () => {
    const result = await runOnPty(exampleArgv("robot.ts", NET), [
      { waitFor: "(q 退出) > ", type: "\x04" },
    ]);
    expect(result.code, result.output).toBe(0);
  }, 40_000);

  onPtyWithTls("tls_echo.ts: a line, then q", async () => {
    const result = await runOnPty(exampleArgv("tls_echo.ts", TLS), [
      { waitFor: "q quits", type: "hello TLS\n" },
      { waitFor: "echo: hello TLS", type: "q\n" },
    ]);
    expect(result.error).toBeUndefined();
    expect(result.code, result.output).toBe(0);
  }, 40_000);
});

describe("examples on a terminal ask for no permission beyond their documented flags", () => {
  onPty("observability.ts", async () => {
    const result = await runOnPty(exampleArgv("observability.ts", [...NET, "--allow-env"]), [], {
      exitWithinMs: 20_000,
    });
    expect(result.output).not.toContain("Deno requests");
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("socket.server.connections");
  }, 40_000);

  // The servers, each on a free port until Ctrl-C.
  const servers: ReadonlyArray<[string, ReadonlyArray<string>, ReadonlyArray<string>, string]> = [
    ["echo.ts", NET, ["--port", "0"], "listening on"],
    ["robot.ts", NET, ["--serve", "--port", "0"], "robot listening on"],
    ["tls_echo.ts", TLS, ["--serve", "--port", "0"], "TLS echo listening on"],
  ];
  for (const [file, flags, args, banner] of servers) {
    const test = file === "tls_echo.ts" ? onPtyWithTls : onPty;
    test(`${file} ${args.join(" ")}, then Ctrl-C`, async () => {
      const result = await runOnPty(exampleArgv(file, flags, args), [
        { waitFor: banner, type: "\x03" },
      ]);
      expect(result.error).toBeUndefined();
      expect(result.output).not.toContain("Deno requests");
      expect(result.code, result.output).toBe(0);
    }, 40_000);
  }
});

describe("interactive examples with piped stdin held open exit when the user quits", () => {
  it("robot.ts: q", async () => {
    const robot = start("robot.ts", NET);
    try {
      await robot.type("hello\nq\n");
      expect(await robot.exitWithin(10_000)).toBe(0);
      expect(await robot.rest()).toContain("hello\n");
    } finally {
      await robot.close();
    }
  }, 30_000);

  needs("openssl", it)(
    "tls_echo.ts: q",
    async () => {
      const tls = start("tls_echo.ts", TLS);
      try {
        await tls.type("hello\nq\n");
        expect(await tls.exitWithin(10_000)).toBe(0);
        expect(await tls.rest()).toContain("echo: hello\n");
      } finally {
        await tls.close();
      }
    },
    30_000,
  );
});

describe("every example refuses unknown flags and missing values (usage, exit code 2)", () => {
  const examples: ReadonlyArray<
    [string, ReadonlyArray<string>, ReadonlyArray<string>, string]
  > = [
    // example, permissions, a flag without its value, what it says
    ["robot.ts", NET, ["--port"], "robot: --port needs a value"],
    ["echo.ts", NET, ["--host", "--port", "1"], "echo: --host needs a value"],
    ["tls_echo.ts", TLS, ["--connect"], "tls_echo: --connect needs a value"],
    [
      "observability.ts",
      [...NET, "--allow-env"],
      ["--clients"],
      "observability: --clients needs a value",
    ],
  ];
  for (const [file, flags, missing, says] of examples) {
    const name = file.replace(/\.ts$/, "");
    it(file, async () => {
      const unknown = await runToEnd(file, flags, ["--bogus"]);
      expect(unknown.code, unknown.stderr).toBe(2);
      expect(unknown.stderr.split("\n")[0]).toBe(`${name}: unknown option --bogus`);
      expect(unknown.stderr).toContain("usage:");
      expect(unknown.stdout).toBe("");
      const noValue = await runToEnd(file, flags, missing);
      expect(noValue.code, noValue.stderr).toBe(2);
      expect(noValue.stderr.split("\n")[0]).toContain(says);
      expect(noValue.stderr).toContain("usage:");
      const help = await runToEnd(file, flags, ["--help"]);
      expect(help.code, help.stderr).toBe(0);
      expect(help.stdout).toMatch(/^usage/);
    }, 60_000);
  }
});
