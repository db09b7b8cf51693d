// Child processes: python3 snippets, the examples run as a user would, and
// this process's own descriptors.
import { repoPath } from "./paths.ts";

const decoder = new TextDecoder();

/**
 * Runs python3 code with a timeout; returns its stdout. Rejects when python3
 * fails or is missing (guard the test with `it.skipIf(missing("python3"))`).
 */
export const python = async (code: string, timeoutMs = 20_000): Promise<string> => {
  const out = await new Deno.Command("python3", {
    args: ["-c", code],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  if (!out.success) throw new Error(`python failed: ${decoder.decode(out.stderr)}`);
  return decoder.decode(out.stdout);
};

/**
 * Runs an example as a user would (`deno run FLAGS examples/FILE`), types
 * `input` on its stdin, and returns its exit status and output.
 */
export const runExample = async (
  file: string,
  flags: ReadonlyArray<string>,
  input: string,
): Promise<Deno.CommandOutput> => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, repoPath(`../examples/${file}`)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  return await child.output();
};

/**
 * Number of this process's descriptors that are TCP sockets. (Not every
 * descriptor: vitest 5 under Deno opens a socket pair of its own in each
 * test process at a moment that varies, sometimes after a test has taken
 * its baseline.)
 */
export const openTcpSockets = (): number => {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    try {
      for (const line of Deno.readTextFileSync(table).split("\n").slice(1)) {
        const inode = line.trim().split(/\s+/)[9];
        if (inode !== undefined && inode !== "0") inodes.add(inode);
      }
    } catch {
      // No IPv6 table on this machine.
    }
  }
  let count = 0;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    try {
      const socket = /^socket:\[(\d+)\]$/.exec(Deno.readLinkSync(`/proc/self/fd/${entry.name}`));
      if (socket !== null && inodes.has(socket[1])) count++;
    } catch {
      // Closed while we looked (the directory listing's own descriptor).
    }
  }
  return count;
};
