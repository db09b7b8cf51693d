// examples/cluster/demo.ts as a person runs it: its own PostgreSQL, three
// runners, a SIGTERM and a SIGKILL, and every counter answering each round.
import { describe, expect, it } from "vitest";
import { runToEnd } from "./_support/examples.ts";
import { needsForEach } from "./_support/needs.ts";

describe("examples/cluster/demo.ts", () => {
  needsForEach("postgres");

  it("runs from start to end: failover after SIGTERM and SIGKILL, counters intact", async () => {
    const { code, stdout } = await runToEnd("cluster/demo.ts", ["-A"], [], 90_000);
    const lines = stdout.trim().split("\n");
    const address = String.raw`127\.0\.0\.1:\d+`;
    expect(code).toBe(0);
    expect(lines).toHaveLength(8);
    expect(lines[0]).toMatch(/^PostgreSQL on 127\.0\.0\.1:\d+ \(throwaway, in .+\)$/);
    expect(lines[2]).toMatch(
      new RegExp(`^all three up: 12 counters at \\d+, answered by (${address} ×\\d+(, )?){3} `),
    );
    expect(lines[3]).toMatch(new RegExp(`^SIGTERM ${address}: exited with 0 in \\d+\\.\\d s$`));
    expect(lines[4]).toMatch(
      new RegExp(`^two left: 12 counters at \\d+, answered by (${address} ×\\d+(, )?){2} `),
    );
    expect(lines[5]).toMatch(new RegExp(`^SIGKILL ${address}$`));
    expect(lines[6]).toMatch(
      new RegExp(`^one left: 12 counters at \\d+, answered by ${address} ×12 `),
    );
    expect(lines[7]).toBe("every counter answered each round and went on from its value; stopping");
  }, 120_000);
});
