// What `deno test` runs here. The suites are written for vitest (run by
// `deno task test`); these Deno tests run them as child processes and fail
// when they fail, so the command a Deno user types first does the real
// thing: the Effect 3 line's suite, then the Effect 4 line's (effect4/).
// Arguments after `--` go to the Effect 3 line's vitest, and then only it
// runs: `deno test -A -- tests/tcp.test.ts`.

const vitest = "npm:vitest@^3.2.7";

Deno.test("the vitest suite (deno task test) passes", async () => {
  // The suite opens sockets, runs examples and peers, writes temp files.
  const allowed = (["run", "read"] as const).every((name) =>
    Deno.permissions.querySync({ name }).state === "granted"
  );
  if (!allowed) {
    throw new Error(
      "the tests are vitest tests: run `deno task test` " +
        "(or `deno test -A`, which runs them from here)",
    );
  }
  const root = new URL("..", import.meta.url).pathname;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", vitest, "run", ...Deno.args],
    cwd: root,
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  const status = await child.status;
  if (!status.success) {
    throw new Error(`vitest exited with code ${status.code}; its report is above`);
  }
});

Deno.test({
  name: "the Effect 4 line's vitest suite (effect4/, deno task test:effect4) passes",
  ignore: Deno.args.length > 0,
  fn: async () => {
    const effect4 = new URL("../effect4/", import.meta.url).pathname;
    const child = new Deno.Command(Deno.execPath(), {
      args: ["task", "test"],
      cwd: effect4,
      stdin: "null",
      stdout: "inherit",
      stderr: "inherit",
    }).spawn();
    const status = await child.status;
    if (!status.success) {
      throw new Error(`the Effect 4 suite exited with code ${status.code}; its report is above`);
    }
  },
});
