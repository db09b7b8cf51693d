// What `deno test` runs here. The suite is written for vitest (run by
// `deno task test`); this one Deno test runs that suite as a child process and
// fails when it fails, so the command a Deno user types first does the real
// thing. Arguments after `--` go to vitest: `deno test -A -- tests/tcp.test.ts`.

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
