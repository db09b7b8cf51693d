/**
 * The official Effect servers need packages from npm. They are installed
 * with npm into a directory under the system's temp dir (kept between runs,
 * so only the first run downloads), never into the repository, together
 * with the server files that import them.
 *
 * @module
 */
import { log } from "./log.ts";
import { runCommand } from "./processes.ts";

/** An installed set of packages, or why there is none. */
export type Installed =
  | { readonly dir: string; readonly versions: Record<string, string> }
  | { readonly note: string };

const SERVERS_DIR = new URL("../servers/node/", import.meta.url).pathname;

/**
 * Installs `dependencies` into `$FIBERNET_BENCH_NPM_DIR/<name>` (default: the
 * temp dir) unless they are there already, and copies `files` from
 * bench/servers/node/ beside them.
 */
export async function installPackages(
  name: string,
  dependencies: Record<string, string>,
  files: ReadonlyArray<string>,
): Promise<Installed> {
  const base = Deno.env.get("FIBERNET_BENCH_NPM_DIR") || Deno.env.get("TMPDIR") || "/tmp";
  const dir = `${base}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const manifest = JSON.stringify({ private: true, type: "module", dependencies }, null, 2) + "\n";
  const current = await Deno.readTextFile(`${dir}/package.json`).catch(() => "");
  const versions = async () => {
    const found: Record<string, string> = {};
    for (const pkg of Object.keys(dependencies)) {
      const json = await Deno.readTextFile(`${dir}/node_modules/${pkg}/package.json`);
      found[pkg] = JSON.parse(json).version;
    }
    return found;
  };
  const installed = current === manifest ? await versions().catch(() => undefined) : undefined;
  if (installed === undefined) {
    await Deno.writeTextFile(`${dir}/package.json`, manifest);
    log(`npm install ${Object.keys(dependencies).join(" ")} into ${dir}`);
    const out = await runCommand(
      ["npm", "install", "--no-audit", "--no-fund", "--legacy-peer-deps", "--loglevel=error"],
      { cwd: dir, timeoutMs: 300_000 },
    ).catch((error) => ({ code: -1, stdout: "", stderr: String(error) }));
    if (out.code !== 0) {
      await Deno.remove(`${dir}/package.json`).catch(() => {}); // try again next time
      const why = out.stderr.trim().split("\n").slice(-2).join(" ");
      return { note: `npm install of ${Object.keys(dependencies).join(", ")} failed (${why})` };
    }
  }
  for (const file of files) await Deno.copyFile(`${SERVERS_DIR}${file}`, `${dir}/${file}`);
  return { dir, versions: installed ?? await versions() };
}
