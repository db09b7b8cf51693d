/**
 * The servers under test: what each is, which protocols it speaks, what it
 * needs beyond the repository, and how to start one so it listens where the
 * run wants and says where it listens.
 *
 * @module
 */
import type { Protocol } from "../servers/args.ts";
import { log } from "./log.ts";
import { installPackages } from "./npm.ts";
import { Child, runCommand, withUlimit } from "./processes.ts";

const ROOT = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

/** Where servers listen: 127.0.0.1, ::1, or a unix socket in a temp dir. */
export type Transport = "tcp" | "tcp6" | "unix";

/** A server of the benchmark. */
export interface ServerInfo {
  readonly name: string;
  readonly description: string;
  readonly protocols: ReadonlyArray<Protocol>;
  /** Beyond the repository and Deno: `node`, or npm packages (which need node and npm too). */
  readonly needs?: "node" | "effect3" | "effect4";
  /** Measured only when named in `--servers` (a variant, not a peer). */
  readonly onRequest?: true;
}

const FRAMES: ReadonlyArray<Protocol> = ["line", "lp"];
const ALL: ReadonlyArray<Protocol> = ["echo", "line", "lp"];

/** Every server, baseline first. */
export const SERVERS: ReadonlyArray<ServerInfo> = [
  {
    name: "raw",
    description: "raw Deno by hand: conn.read into a reused 64 KiB buffer, frames parsed " +
      "in place, a write-all loop (bench/servers/raw.ts)",
    protocols: ALL,
  },
  {
    name: "raw4k",
    description: "raw with a 4 KiB buffer (bench/servers/raw.ts --buffer 4096)",
    protocols: ALL,
  },
  {
    name: "node",
    description: "raw Node: a node:net server, frames cut by hand (bench/servers/node/raw.mjs)",
    protocols: ALL,
    needs: "node",
  },
  {
    name: "lib",
    description: "this library, an Effect.gen loop: Framing.lines().reader(conn).read / " +
      "codec.readFrame(conn), replies with lines.write / codec.write (bench/servers/lib.ts)",
    protocols: FRAMES,
  },
  {
    name: "lib-traced",
    description: "lib with the server's tracing option on: a span per connection, to Effect's " +
      "own tracer (bench/servers/lib.ts --tracing); only when named in --servers",
    protocols: FRAMES,
    onRequest: true,
  },
  {
    name: "lib-stream",
    description: "this library, a Stream: codec.decode(conn).pipe(Stream.runForEach(" +
      "(frame) => codec.write(conn, frame))) (bench/servers/lib_stream.ts)",
    protocols: FRAMES,
  },
  {
    name: "lib-echo",
    description: "this library's echo, examples/echo.ts: " +
      "Server.echo, a copy loop that runs without a fiber",
    protocols: ["echo"],
  },
  {
    name: "lib4",
    description: "this library's Effect 4 line (effect4/), the handler of lib on its faces: " +
      "Framing.lines().reader(conn).read / codec.readFrame(conn) (effect4/bench/servers/lib.ts)",
    protocols: FRAMES,
  },
  {
    name: "lib4-echo",
    description: "this library's Effect 4 line, effect4/examples/echo.ts: Server.echo, " +
      "a copy loop without a fiber",
    protocols: ["echo"],
  },
  {
    name: "effect3-node",
    description: "Effect 3 on Node: @effect/platform-node's NodeSocketServer, socket.run " +
      "over chunks, frames cut by hand (bench/servers/node/effect3.mjs)",
    protocols: ALL,
    needs: "effect3",
  },
  {
    name: "effect4-node",
    description: "Effect 4.1 on Node: @effect/platform-node's NodeSocketServer, a " +
      "reader.pull loop, frames cut by hand (bench/servers/node/effect4.mjs)",
    protocols: ALL,
    needs: "effect4",
  },
  {
    name: "effect4-deno",
    description: "Effect 4.1 on Deno: @effect/platform-node-shared's NodeSocketServer, " +
      "the same handler (bench/servers/node/effect4.mjs)",
    protocols: ALL,
    needs: "effect4",
  },
];

/** Server names, for the command line. */
export const SERVER_NAMES: ReadonlyArray<string> = SERVERS.map((s) => s.name);
/** The servers a run measures unless `--servers` names others. */
export const DEFAULT_SERVERS: ReadonlyArray<string> = SERVERS
  .filter((s) => s.onRequest !== true).map((s) => s.name);

/** A server that can be started: its command for a protocol and a place to listen. */
export interface Runnable {
  readonly info: ServerInfo;
  command(proto: Protocol, listen: ReadonlyArray<string>): string[];
  readonly cwd: string;
}

const EFFECT3 = {
  "effect": "~3.22.4",
  "@effect/platform": "~0.97.2",
  "@effect/platform-node": "~0.108.2",
};
const EFFECT4 = {
  "effect": "~4.1.0",
  "@effect/platform-node": "~4.1.0",
  "@effect/platform-node-shared": "~4.1.0",
};

/** What preparing the servers found: runnable servers, notes on skipped ones, versions. */
export interface Prepared {
  readonly servers: Runnable[];
  readonly notes: string[];
  readonly node?: string;
  readonly packages: Record<string, Record<string, string>>;
}

/**
 * Makes the named servers runnable: checks for node and installs the npm
 * packages the official servers need. A server whose needs are missing is
 * skipped with a note. `profile`: a directory for CPU profiles.
 */
export async function prepareServers(
  names: ReadonlyArray<string>,
  transport: Transport,
  profile?: string,
): Promise<Prepared> {
  const notes: string[] = [];
  const packages: Record<string, Record<string, string>> = {};
  const infos = SERVERS.filter((s) => names.includes(s.name));
  const deno = Deno.execPath();
  const prof = profile === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${profile}`];
  const perms = transport === "unix"
    ? ["--allow-net", "--allow-read", "--allow-write"]
    : ["--allow-net"];

  let node: string | undefined;
  if (infos.some((s) => s.needs !== undefined)) {
    const version = await runCommand(["node", "--version"]).catch(() => undefined);
    if (version?.code === 0) node = version.stdout.trim();
  }
  const dirs: Partial<Record<"effect3" | "effect4", string>> = {};
  for (const [key, deps] of [["effect3", EFFECT3], ["effect4", EFFECT4]] as const) {
    if (!infos.some((s) => s.needs === key) || node === undefined) continue;
    const files = [`${key}.mjs`, "args.mjs", "framer.mjs"];
    const installed = await installPackages(`fibernet-bench-${key}`, deps, files);
    if ("note" in installed) notes.push(`${key}: ${installed.note}; its servers skipped`);
    else {
      dirs[key] = installed.dir;
      packages[key] = installed.versions;
    }
  }

  const servers: Runnable[] = [];
  for (const info of infos) {
    const script = (path: string, proto: Protocol, listen: ReadonlyArray<string>) => [
      deno,
      "run",
      ...perms,
      ...prof,
      path,
      "--proto",
      proto,
      ...listen,
    ];
    const make = (
      command: (proto: Protocol, listen: ReadonlyArray<string>) => string[],
      cwd = ROOT,
    ) => servers.push({ info, command, cwd });
    if (info.needs !== undefined && node === undefined) {
      notes.push(`${info.name}: node is not installed, skipped`);
      continue;
    }
    switch (info.name) {
      case "raw":
        make((proto, listen) => script("bench/servers/raw.ts", proto, listen));
        break;
      case "raw4k":
        make((proto, listen) => [
          ...script("bench/servers/raw.ts", proto, listen),
          "--buffer",
          "4096",
        ]);
        break;
      case "lib":
        make((proto, listen) => script("bench/servers/lib.ts", proto, listen));
        break;
      case "lib-traced":
        make((proto, listen) => [...script("bench/servers/lib.ts", proto, listen), "--tracing"]);
        break;
      case "lib-stream":
        make((proto, listen) => script("bench/servers/lib_stream.ts", proto, listen));
        break;
      case "lib-echo":
        // examples/echo.ts joins --host and --port with a colon: an IPv6 host needs brackets.
        make((_, listen) => [
          deno,
          "run",
          ...perms,
          ...prof,
          "examples/echo.ts",
          ...listen.map((arg) => arg.includes(":") ? `[${arg}]` : arg),
        ]);
        break;
      case "lib4":
        // The Effect 4 line is a Deno project of its own (effect4/deno.json, effect 4.1).
        make((proto, listen) => [
          deno,
          "run",
          ...perms,
          ...prof,
          ...["--config", "effect4/deno.json", "effect4/bench/servers/lib.ts"],
          ...["--proto", proto, ...listen],
        ]);
        break;
      case "lib4-echo":
        make((_, listen) => [
          deno,
          "run",
          ...perms,
          ...prof,
          ...["--config", "effect4/deno.json", "effect4/examples/echo.ts", ...listen],
        ]);
        break;
      case "node":
        make((proto, listen) => [
          "node",
          ...prof,
          "bench/servers/node/raw.mjs",
          "--proto",
          proto,
          ...listen,
        ]);
        break;
      default: {
        const dir = dirs[info.needs as "effect3" | "effect4"];
        if (dir === undefined) continue; // the install failed: noted above
        const file = info.needs === "effect3" ? "effect3.mjs" : "effect4.mjs";
        const runtime = info.name.endsWith("-deno")
          ? [deno, "run", "-A", ...prof]
          : ["node", ...prof];
        make((proto, listen) => [...runtime, file, "--proto", proto, ...listen], dir);
      }
    }
  }
  for (const s of servers) log(`server ${s.info.name}: ${s.info.description}`);
  return { servers, notes, node, packages };
}

/** A started server. */
export interface Started {
  readonly process: Child;
  /** Where it listens, as loadgen takes it: `127.0.0.1:PORT`, `[::1]:PORT`, `unix:PATH`. */
  readonly address: string;
}

/** Starts a server (open-files limit raised) and waits until it says where it listens. */
export async function startServer(
  server: Runnable,
  proto: Protocol,
  listen: ReadonlyArray<string>,
): Promise<Started> {
  const child = new Child(withUlimit(server.command(proto, listen)), server.cwd);
  try {
    const match = await child.waitForLine(/^listening on (\S+)/, 90_000);
    return { process: child, address: match[1] };
  } catch (error) {
    await child.stop();
    throw new Error(`${server.info.name} did not start: ${(error as Error).message}`);
  }
}

/** The flags that make a server listen on `transport`; `socketPath` for unix. */
export function listenFlags(transport: Transport, socketPath: string): string[] {
  switch (transport) {
    case "tcp":
      return ["--host", "127.0.0.1", "--port", "0"];
    case "tcp6":
      return ["--host", "::1", "--port", "0"];
    case "unix":
      return ["--unix", socketPath];
  }
}
