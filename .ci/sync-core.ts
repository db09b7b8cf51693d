// The Effect 4 line (effect4/) is its own package, and `deno publish` takes no
// symlinks and no files outside a package: the core both lines share is
// copied into it. `deno task sync-core` makes the copy; `--check` (run by
// `deno task check`) fails when the copy differs from src/core.
const root = new URL("../", import.meta.url);
/** What is copied: the core, and the license each package ships. */
const copies: ReadonlyArray<{ from: string; to: string }> = [
  { from: "src/core/", to: "effect4/src/core/" },
  { from: "LICENSE", to: "effect4/LICENSE" },
];

/** Every file under `dir` (relative paths), or just `dir` when it is a file. */
const filesOf = (path: string): Map<string, Uint8Array> => {
  const found = new Map<string, Uint8Array>();
  const base = new URL(path, root);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(base);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return found;
    throw error;
  }
  if (info.isFile) {
    found.set("", Deno.readFileSync(base));
    return found;
  }
  const visit = (dir: URL, prefix: string) => {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isDirectory) visit(new URL(`${entry.name}/`, dir), `${prefix}${entry.name}/`);
      else if (entry.isFile) {
        found.set(`${prefix}${entry.name}`, Deno.readFileSync(new URL(entry.name, dir)));
      } else {throw new Error(
          `${path}${prefix}${entry.name}: not a plain file (symlinks cannot be published)`,
        );}
    }
  };
  visit(base, "");
  return found;
};

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

const differences = (): string[] => {
  const out: string[] = [];
  for (const { from, to } of copies) {
    const source = filesOf(from);
    const copy = filesOf(to);
    for (const [name, bytes] of source) {
      const other = copy.get(name);
      if (other === undefined) out.push(`missing: ${to}${name}`);
      else if (!same(bytes, other)) out.push(`differs: ${to}${name} (from ${from}${name})`);
    }
    for (const name of copy.keys()) {
      if (!source.has(name)) out.push(`extra: ${to}${name} (not in ${from})`);
    }
  }
  return out;
};

if (Deno.args.includes("--check")) {
  const found = differences();
  if (found.length > 0) {
    console.error(
      `effect4/ has a stale copy of what both lines share; run \`deno task sync-core\`:\n  ${
        found.join("\n  ")
      }`,
    );
    Deno.exit(1);
  }
  console.log("effect4: its copy of src/core and LICENSE is current");
} else {
  for (const { from, to } of copies) {
    try {
      Deno.removeSync(new URL(to, root), { recursive: true });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    for (const [name, bytes] of filesOf(from)) {
      const target = new URL(`${to}${name}`, root);
      Deno.mkdirSync(new URL(".", target), { recursive: true });
      Deno.writeFileSync(target, bytes);
    }
  }
  console.log(`copied ${copies.map(({ from, to }) => `${from} to ${to}`).join(", ")}`);
}
