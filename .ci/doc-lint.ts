// Runs `deno doc --lint` on the public modules and fails on every diagnostic
// except `private-type-ref`, which Deno 2.9 reports for every npm type
// (Effect.Effect, …) in a signature (denoland/deno#27364).
// The package's entry points (deno.json "exports"), and every module under src/.
const entries: string[] = Object.values(
  JSON.parse(Deno.readTextFileSync("deno.json")).exports as Record<string, string>,
).map((path) => path.replace(/^\.\//, ""));
const publicModules = [...entries];
for (const dir of ["src", "src/platform", "src/cluster"]) {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isFile && entry.name.endsWith(".ts") && !publicModules.includes(path)) {
        publicModules.push(path);
      }
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
publicModules.sort();

const output = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--lint", ...publicModules],
  env: { NO_COLOR: "1" },
  stdout: "piped",
  stderr: "piped",
}).output();
const text = new TextDecoder().decode(output.stdout) + new TextDecoder().decode(output.stderr);
const blocks = text.split(/\n(?=error\[)/).filter((block) => block.startsWith("error["));
const real = blocks.filter((block) => !block.startsWith("error[private-type-ref]"));
if (real.length > 0) {
  console.error(real.join("\n"));
  console.error(`doc lint: ${real.length} problem(s) in ${publicModules.length} modules`);
  Deno.exit(1);
}
if (!output.success && blocks.length === 0) {
  console.error(text);
  Deno.exit(1);
}
console.log(
  `doc lint: ${publicModules.length} modules clean (ignored ${
    blocks.length - real.length
  } private-type-ref false positives)`,
);

// Every export must also carry an example (a code block or an @example tag).
type DocSymbol = {
  name: string;
  declarations?: Array<{
    kind?: string;
    declarationKind?: string;
    jsDoc?: { doc?: string; tags?: Array<{ kind?: string }> };
    def?: { elements?: DocSymbol[] };
  }>;
};
const json = await new Deno.Command(Deno.execPath(), {
  args: ["doc", "--json", ...entries],
  stdout: "piped",
  stderr: "null",
}).output();
const doc = JSON.parse(new TextDecoder().decode(json.stdout)) as {
  nodes: Record<string, { symbols?: DocSymbol[] }>;
};
const withoutExample: string[] = [];
const visit = (symbol: DocSymbol, prefix: string) => {
  for (const declaration of symbol.declarations ?? []) {
    if (declaration.kind === "namespace") {
      for (const element of declaration.def?.elements ?? []) {
        visit(element, `${prefix}${symbol.name}.`);
      }
      continue;
    }
    if (declaration.kind === "import" || declaration.declarationKind === "private") continue;
    const jsDoc = declaration.jsDoc ?? {};
    const hasExample = (jsDoc.doc ?? "").includes("```") ||
      (jsDoc.tags ?? []).some((tag) => tag.kind === "example");
    if (!hasExample) withoutExample.push(`${prefix}${symbol.name}`);
  }
};
let exported = 0;
for (const module of Object.values(doc.nodes)) {
  for (const symbol of module.symbols ?? []) {
    exported++;
    visit(symbol, "");
  }
}
if (withoutExample.length > 0) {
  console.error(`exports without an example:\n  ${withoutExample.join("\n  ")}`);
  Deno.exit(1);
}
console.log(`doc examples: every export of ${exported} symbols in ${entries.join(", ")} has one`);
