// Which external programs the tests can run here. A test that needs a
// missing one is skipped, with the reason in its name.

/** Why `command` cannot be used here (`--version` fails), or undefined when it can. */
export const toolMissing = (command: string, args: ReadonlyArray<string> = ["--version"]) => {
  try {
    const ok = new Deno.Command(command, { args: [...args], stdout: "null", stderr: "null" })
      .outputSync().success;
    return ok ? undefined : `${command} does not run`;
  } catch {
    return `${command} is not installed`;
  }
};

/** `name` plus ` (skipped: why)` when a tool is missing. */
export const named = (name: string, missing: string | undefined): string =>
  missing === undefined ? name : `${name} (skipped: ${missing})`;
