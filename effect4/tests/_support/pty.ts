// Runs a program on a real pseudo-terminal, as a person at a keyboard would:
// python3's pty module gives the child a controlling terminal (with a chosen
// size), types each step once the expected text is on screen, keeps the
// terminal open afterwards, and reports whether the program exited on its
// own within a bound.

/** One thing the user does: wait for text on screen, then type. */
export interface PtyStep {
  /** Text to wait for (after what earlier steps waited for) before typing. */
  readonly waitFor?: string;
  /** What to type; `\n` is Enter, `\x04` Ctrl-D, `\x03` Ctrl-C. */
  readonly type?: string;
}

/** Options of {@link runOnPty}. */
export interface PtyOptions {
  /** Terminal width. Default 80. */
  readonly columns?: number;
  /** Terminal height. Default 24. */
  readonly rows?: number;
  /** How long each `waitFor` may take. Default 20 s. */
  readonly stepTimeoutMs?: number;
  /** How long the program may take to exit after the last step. Default 10 s. */
  readonly exitWithinMs?: number;
}

/** What happened on the terminal. */
export interface PtyResult {
  /** The exit code, or null when the program did not exit in time (it was then killed). */
  readonly code: number | null;
  /** Everything the terminal showed, typed echo included (`\r\n` line ends). */
  readonly output: string;
  /** Set when a `waitFor` text never appeared. */
  readonly error?: string;
}

const DRIVER = `
import base64, fcntl, json, os, pty, select, struct, sys, termios, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", spec["rows"], spec["columns"], 0, 0))
    os.execvp(spec["argv"][0], spec["argv"])
out = bytearray()
status = None
def pump(seconds):
    global status
    r, _, _ = select.select([fd], [], [], seconds)
    if r:
        try:
            out.extend(os.read(fd, 65536))
        except OSError:
            pass
    if status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
error = None
seen = 0
for step in spec["steps"]:
    wanted = step.get("waitFor")
    if wanted:
        wanted = wanted.encode()
        deadline = time.time() + spec["stepTimeout"]
        while out.find(wanted, seen) < 0 and time.time() < deadline and status is None:
            pump(0.05)
        at = out.find(wanted, seen)
        if at < 0:
            error = "never saw %r" % wanted.decode()
            break
        seen = at + len(wanted)
    if step.get("type"):
        os.write(fd, step["type"].encode())
deadline = time.time() + spec["exitWithin"]
while status is None and time.time() < deadline:
    pump(0.05)
for _ in range(20):
    r, _, _ = select.select([fd], [], [], 0.01)
    if not r:
        break
    try:
        chunk = os.read(fd, 65536)
    except OSError:
        break
    if not chunk:
        break
    out.extend(chunk)
code = None
if status is not None:
    code = os.waitstatus_to_exitcode(status)
else:
    os.kill(pid, 9)
    os.waitpid(pid, 0)
print(json.dumps({"code": code, "output": base64.b64encode(bytes(out)).decode(), "error": error}))
`;

/**
 * Runs `argv` on a pseudo-terminal and plays `steps`; the terminal stays
 * open (no end of input) until the program exits or `exitWithinMs` passes.
 */
export const runOnPty = async (
  argv: ReadonlyArray<string>,
  steps: ReadonlyArray<PtyStep>,
  options?: PtyOptions,
): Promise<PtyResult> => {
  const stepTimeout = (options?.stepTimeoutMs ?? 20_000) / 1000;
  const exitWithin = (options?.exitWithinMs ?? 10_000) / 1000;
  const spec = {
    argv,
    steps,
    columns: options?.columns ?? 80,
    rows: options?.rows ?? 24,
    stepTimeout,
    exitWithin,
  };
  const out = await new Deno.Command("python3", {
    args: ["-c", DRIVER, JSON.stringify(spec)],
    stdout: "piped",
    stderr: "piped",
    env: { TERM: "xterm" },
    signal: AbortSignal.timeout((stepTimeout * steps.length + exitWithin + 10) * 1000),
  }).output();
  if (!out.success) throw new Error(`pty driver failed: ${new TextDecoder().decode(out.stderr)}`);
  const result = JSON.parse(new TextDecoder().decode(out.stdout));
  const bytes = Uint8Array.from(atob(result.output), (c) => c.charCodeAt(0));
  return {
    code: result.code,
    output: new TextDecoder().decode(bytes),
    ...(result.error ? { error: result.error } : {}),
  };
};
