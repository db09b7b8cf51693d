// The external programs some tests use as real peers or build tools. A test
// that needs one skips itself when it is missing (`it.skipIf(missing(...))`,
// with "(needs TOOL)" in its name), so a machine without it reports the test
// as skipped, never as passed and never as failed.
import { postgresUnavailable } from "../../examples/cluster/postgres.ts";

/**
 * A program a test drives: a peer (python3, openssl, nc), the C compiler, or
 * PostgreSQL's server (its `initdb`), the cluster tests' shared storage.
 */
export type Tool = "python3" | "openssl" | "nc" | "cc" | "postgres";

/** Every tool, in the order they are reported. */
export const tools: ReadonlyArray<Tool> = ["python3", "openssl", "nc", "cc", "postgres"];

/** What each tool is for, in a few words. */
export const purpose: Readonly<Record<Tool, string>> = {
  python3: "the tutorial's own clients and servers, resetting peers",
  openssl: "TLS test certificates and openssl s_server",
  nc: "the robot example with netcat",
  cc: "the benchmark's load generator",
  postgres: "the cluster's shared storage (a throwaway server in a temp dir)",
};

/** The Debian/Ubuntu package that provides each tool. */
export const debianPackage: Readonly<Record<Tool, string>> = {
  python3: "python3",
  openssl: "openssl",
  nc: "netcat-openbsd",
  cc: "gcc",
  postgres: "postgresql",
};

/** The command run for each tool; `$CC` names the compiler, as for make. */
export const command: Readonly<Record<Tool, string>> = {
  python3: "python3",
  openssl: "openssl",
  nc: "nc",
  cc: Deno.env.get("CC") || "cc",
  postgres: "initdb",
};

const isExecutableFile = (path: string): boolean => {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
};

/**
 * The path of `program` as the shell would find it on PATH, or undefined.
 * Synchronous, so that it can decide a test's skip while the file is collected
 * (running the program to ask would throw when it is missing).
 */
export const onPath = (program: string): string | undefined => {
  if (program.includes("/")) return isExecutableFile(program) ? program : undefined;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const candidate = `${dir === "" ? "." : dir}/${program}`;
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
};

/** Why PostgreSQL cannot be started here (looked up once), or undefined when it can. */
export const postgresProblem: string | undefined = postgresUnavailable();

// Looked up once per test process.
const found: Readonly<Record<Tool, boolean>> = {
  python3: onPath(command.python3) !== undefined,
  openssl: onPath(command.openssl) !== undefined,
  nc: onPath(command.nc) !== undefined,
  cc: onPath(command.cc) !== undefined,
  // Debian keeps the server programs off PATH, in /usr/lib/postgresql/VERSION/bin; as root the
  // server also needs a postgres user and setpriv.
  postgres: postgresProblem === undefined,
};

/** True when `tool` is not on PATH: `it.skipIf(missing("nc"))("… (needs nc)", …)`. */
export const missing = (tool: Tool): boolean => !found[tool];
