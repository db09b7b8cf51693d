/**
 * A throwaway PostgreSQL for the cluster example and its tests: `initdb` in
 * a new temporary directory, then `postgres` in the foreground on a free
 * loopback port, trusting local connections, without durability (fsync off).
 * Nothing of the machine's own PostgreSQL service is used or touched.
 *
 *   deno run -A examples/cluster/postgres.ts     # prints the URL; Ctrl-C stops and removes it
 *
 * Needs the PostgreSQL server programs (`apt-get install postgresql` puts them
 * in /usr/lib/postgresql/VERSION/bin). PostgreSQL refuses to run as root: as
 * root, the server runs as the `postgres` user the package creates.
 *
 * @module
 */

/** A running throwaway PostgreSQL. */
export interface Postgres {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  readonly url: string;
  /** The TCP port on 127.0.0.1. */
  readonly port: number;
  /** Its temporary directory (data, socket, log). */
  readonly dir: string;
  /** The server's process id. */
  readonly pid: number;
  /** Stops the server at once and removes its directory. */
  readonly stop: () => Promise<void>;
}

const isExecutable = (path: string): boolean => {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
};

/**
 * The directory holding `initdb` and `postgres`: on PATH, else the newest
 * /usr/lib/postgresql/VERSION/bin (Debian and Ubuntu). Undefined when absent.
 */
export const postgresBinDir = (): string | undefined => {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir !== "" && isExecutable(`${dir}/initdb`) && isExecutable(`${dir}/postgres`)) {
      // A symlink on PATH (as some images add) is fine: both are found there.
      return dir;
    }
  }
  let versions: Array<number> = [];
  try {
    versions = [...Deno.readDirSync("/usr/lib/postgresql")]
      .map((entry) => Number(entry.name))
      .filter((version) => Number.isInteger(version))
      .sort((a, b) => b - a);
  } catch {
    return undefined;
  }
  for (const version of versions) {
    const dir = `/usr/lib/postgresql/${version}/bin`;
    if (isExecutable(`${dir}/initdb`) && isExecutable(`${dir}/postgres`)) return dir;
  }
  return undefined;
};

/** The uid and gid of `user` from /etc/passwd, or undefined. */
const lookupUser = (user: string): { uid: number; gid: number } | undefined => {
  try {
    for (const line of Deno.readTextFileSync("/etc/passwd").split("\n")) {
      const fields = line.split(":");
      if (fields[0] === user) return { uid: Number(fields[2]), gid: Number(fields[3]) };
    }
  } catch {
    // No passwd file: no such user.
  }
  return undefined;
};

/** `program` on PATH (as a spawn would find it). */
const onPath = (program: string): boolean =>
  (Deno.env.get("PATH") ?? "").split(":").some((dir) =>
    dir !== "" && isExecutable(`${dir}/${program}`)
  );

/**
 * Why a throwaway PostgreSQL cannot be started here, or undefined when it
 * can: its programs are missing, or, as root, there is no `postgres` user or
 * no `setpriv` to become it.
 */
export const postgresUnavailable = (): string | undefined => {
  if (postgresBinDir() === undefined) {
    return "PostgreSQL's initdb and postgres were not found (on PATH or in " +
      "/usr/lib/postgresql/*/bin); install them with: apt-get install postgresql";
  }
  if (Deno.uid() !== 0) return undefined;
  if (lookupUser("postgres") === undefined) {
    return "PostgreSQL refuses to run as root, and there is no postgres user to run it";
  }
  if (!onPath("setpriv")) {
    return "PostgreSQL refuses to run as root, and setpriv (util-linux), which runs it as the " +
      "postgres user, is not on PATH";
  }
  return undefined;
};

/** How to run a PostgreSQL program: as root, through setpriv as another user. */
const commandFor = (
  program: string,
  args: ReadonlyArray<string>,
  runAs: string | undefined,
): [string, Array<string>] =>
  runAs === undefined
    ? [program, [...args]]
    : ["setpriv", [`--reuid=${runAs}`, `--regid=${runAs}`, "--init-groups", program, ...args]];

const freePort = (): number => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
};

const decoder = new TextDecoder();

/**
 * Starts a throwaway PostgreSQL and resolves once it accepts connections.
 * Rejects with the reason when the programs are missing or it fails to start
 * (within `timeoutMs`, default 60 s).
 */
export const startPostgres = async (timeoutMs = 60_000): Promise<Postgres> => {
  const unavailable = postgresUnavailable();
  if (unavailable !== undefined) throw new Error(unavailable);
  const bin = postgresBinDir()!;
  const root = Deno.uid() === 0;
  const user = root ? lookupUser("postgres") : undefined;
  const runAs = root ? "postgres" : undefined;
  const dir = await Deno.makeTempDir({ prefix: "fibernet-pg-" });
  try {
    if (user !== undefined) await Deno.chown(dir, user.uid, user.gid);
    const deadline = AbortSignal.timeout(timeoutMs);
    const [initdb, initArgs] = commandFor(`${bin}/initdb`, [
      ...["-D", `${dir}/data`, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
      "--no-instructions",
    ], runAs);
    const init = await new Deno.Command(initdb, {
      args: initArgs,
      stdout: "piped",
      stderr: "piped",
      signal: deadline,
    }).output();
    if (!init.success) throw new Error(`initdb failed: ${decoder.decode(init.stderr).trim()}`);
    // A port found free can be taken before the server binds it: try a few.
    for (let attempt = 1;; attempt++) {
      const port = freePort();
      const started = await launch(bin, dir, port, runAs, deadline);
      if (typeof started !== "string") return started;
      if (attempt === 3 || !/could not (bind|create)/i.test(started)) {
        throw new Error(`postgres did not start: ${started}`);
      }
    }
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
};

/** Runs the server; resolves with it once ready, or with its log when it ended first. */
const launch = async (
  bin: string,
  dir: string,
  port: number,
  runAs: string | undefined,
  deadline: AbortSignal,
): Promise<Postgres | string> => {
  const [program, args] = commandFor(`${bin}/postgres`, [
    ...["-D", `${dir}/data`, "-p", String(port), "-k", dir],
    ...["-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off"],
    ...["-c", "full_page_writes=off", "-c", "max_connections=200"],
  ], runAs);
  const child = new Deno.Command(program, {
    args,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let log = "";
  let ready = false;
  const onAbort = () => child.kill("SIGQUIT");
  deadline.addEventListener("abort", onAbort);
  while (!ready) {
    const { value, done } = await lines.read();
    if (done) break;
    log += value;
    ready = log.includes("ready to accept connections");
  }
  deadline.removeEventListener("abort", onAbort);
  // Keep draining the server's log so that it never blocks writing it.
  const drained = (async () => {
    while (!(await lines.read()).done) { /* discard */ }
  })().catch(() => {});
  if (!ready) {
    await child.status;
    await drained;
    return log.trim().split("\n").slice(-3).join(" | ") || "no output";
  }
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    pid: child.pid,
    // SIGQUIT: PostgreSQL's immediate shutdown; nothing here is worth keeping.
    stop: () =>
      stopped ??= (async () => {
        try {
          child.kill("SIGQUIT");
        } catch {
          // Already gone.
        }
        await child.status;
        await drained;
        await Deno.remove(dir, { recursive: true }).catch(() => {});
      })(),
  };
};

if (import.meta.main) {
  const postgres = await startPostgres();
  console.log(postgres.url);
  console.log("Ctrl-C stops it and removes its data.");
  const stop = async () => {
    await postgres.stop();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}
