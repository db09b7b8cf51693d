// The core stays Effect-free: a file under src/core imports only other core
// files and the runtime's own modules (node:*), never effect, @effect/* or a face.
const root = new URL("../src/core/", import.meta.url);
const offenders: string[] = [];
const visit = (dir: URL) => {
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.isDirectory) {
      visit(new URL(`${entry.name}/`, dir));
      continue;
    }
    if (!entry.name.endsWith(".ts")) continue;
    const file = new URL(entry.name, dir);
    // Imports in doc examples (comments) are the user's, not the core's.
    const text = Deno.readTextFileSync(file).replace(/\/\*[\s\S]*?\*\//g, "")
      .replace(/^\s*\/\/.*$/gm, "");
    for (const match of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*"([^"]+)"/g)) {
      const specifier = match[1];
      const inCore = specifier.startsWith(".") &&
        new URL(specifier, file).href.startsWith(root.href);
      if (!inCore && !specifier.startsWith("node:")) {
        offenders.push(`${file.pathname}: imports "${specifier}"`);
      }
    }
  }
};
visit(root);
if (offenders.length > 0) {
  console.error(`the core must import only itself and node: modules:\n  ${offenders.join("\n  ")}`);
  Deno.exit(1);
}
console.log("core: imports only itself");
