// Runs `deno doc --lint` on the public modules and fails on every diagnostic
// except `private-type-ref`, which Deno 2.9 reports for every npm type
// (Effect.Effect, …) in a signature (denoland/deno#27364).
const publicModules = ["mod.ts"];
for (const dir of ["src", "src/platform"]) {
  try {
    for (const entry of Deno.readDirSync(dir)) {
      if (entry.isFile && entry.name.endsWith(".ts")) publicModules.push(`${dir}/${entry.name}`);
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
