// Skipping the tests whose tool is missing, with the reason shown by vitest
// next to the test ("↓ name [needs nc, not on PATH (apt-get install …)]").
// it.skipIf cannot carry a reason, and ctx.skip(note) inside an Effect test
// loses it, so the skip happens outside the test's own body.
import { beforeEach, it } from "vitest";
import { command, debianPackage, missing, postgresProblem, type Tool } from "./tools.ts";

/** Why a test that needs `tool` is skipped on this machine. */
export const skipReason = (tool: Tool): string =>
  tool === "postgres"
    ? postgresProblem ?? "needs PostgreSQL"
    : `needs ${command[tool]}, not on PATH (apt-get install ${debianPackage[tool]})`;

/**
 * `test` itself when `tool` is on PATH; otherwise a stand-in that registers a
 * test of the same name, reported as skipped with the reason:
 * `needs("nc", it.scopedLive)("nc works against the robot", () => …)`.
 */
export const needs = <T extends (name: string, ...rest: never[]) => unknown>(
  tool: Tool,
  test: T,
): T =>
  missing(tool)
    ? ((name: string) => it(name, (ctx) => ctx.skip(skipReason(tool)))) as unknown as T
    : test;

/** In a `describe`: every test in it needs `tool`, and is skipped with the reason without it. */
export const needsForEach = (tool: Tool): void =>
  beforeEach((ctx) => ctx.skip(missing(tool), skipReason(tool)));
