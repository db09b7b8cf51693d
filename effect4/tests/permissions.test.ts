// Every permission hint names flags that, once added, let the operation pass:
// each case runs a child without permissions, adds exactly the flags the
// NotCapable message suggests, and runs it again.
import { describe, expect, it } from "@effect/vitest";
import { hasIpv6 } from "./_support/net.ts";
import { repoPath } from "./_support/paths.ts";

const probe = async (flags: ReadonlyArray<string>, operation: string, address: string) => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-q", ...flags, repoPath("fixtures/permission_probe.ts"), operation, address],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  const [reason, message = ""] = text.split("\t");
  return { reason, message, stderr: new TextDecoder().decode(out.stderr) };
};

/** Runs the probe, adding the suggested flags after each NotCapable, until it stops asking. */
const followHints = async (operation: string, address: string) => {
  const flags: string[] = [];
  const hints: string[] = [];
  for (let round = 0; round < 4; round++) {
    const result = await probe(flags, operation, address);
    if (result.reason !== "NotCapable") return { ...result, flags, hints };
    const suggested = /; run with ([^)]+)\)$/.exec(result.message)?.[1];
    expect(suggested, result.message).toBeDefined();
    hints.push(suggested!);
    const added = suggested!.split(" ").filter((flag) => !flags.includes(flag));
    expect(added.length, `the hint adds nothing new: ${result.message}`).toBeGreaterThan(0);
    flags.push(...added);
  }
  throw new Error(`still NotCapable after ${flags.join(" ")}`);
};

describe("permission hints", () => {
  it("TCP on IPv4: --allow-net=HOST", async () => {
    const listen = await followHints("tcp-listen", "127.0.0.1:0");
    expect(listen.hints).toEqual(["--allow-net=127.0.0.1"]);
    expect(listen.reason).toBe("ok");
    const connect = await followHints("tcp-connect", "127.0.0.1:1");
    expect(connect.hints).toEqual(["--allow-net=127.0.0.1"]);
    expect(connect.reason).toBe("ConnectionRefused");
  }, 60_000);

  it.skipIf(!hasIpv6)(
    "TCP and UDP on IPv6: --allow-net=[::1] (needs IPv6 on loopback)",
    async () => {
      const listen = await followHints("tcp-listen", "[::1]:0");
      expect(listen.hints).toEqual(["--allow-net=[::1]"]);
      expect(listen.reason).toBe("ok");
      const udp = await followHints("udp-bind", "[::1]:0");
      expect(udp.hints).toEqual(["--allow-net=[::1]"]);
      expect(udp.reason).toBe("ok");
    },
    60_000,
  );

  it("UDP on IPv4", async () => {
    const udp = await followHints("udp-bind", "127.0.0.1:0");
    expect(udp.hints).toEqual(["--allow-net=127.0.0.1"]);
    expect(udp.reason).toBe("ok");
  }, 60_000);

  it("unix sockets: read, write and net permission for the path", async () => {
    const dir = await Deno.makeTempDir({ prefix: "fibernet-perm-" });
    try {
      const path = `${dir}/s.sock`;
      const listen = await followHints("unix-listen", path);
      expect(listen.hints).toHaveLength(1);
      expect(listen.reason).toBe("ok");
      const connect = await followHints("unix-connect", `${dir}/missing.sock`);
      expect(connect.hints).toHaveLength(1);
      expect(connect.reason).toBe("NotFound");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  }, 60_000);
});
