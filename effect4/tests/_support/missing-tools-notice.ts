// vitest globalSetup: says once, before the run, which test tools are not on
// PATH, so that the skipped counts at the end have their reason next to them.
import { command, debianPackage, missing, purpose, tools } from "./tools.ts";

/** Prints the missing tools (nothing when all are there). */
export default function setup(): void {
  const absent = tools.filter(missing);
  if (absent.length === 0) return;
  const lines = absent.map((tool) => `  ${command[tool]}: ${purpose[tool]}`);
  const packages = absent.map((tool) => debianPackage[tool]).join(" ");
  console.warn(
    [
      "Not on PATH, so the tests that need them are reported as skipped, with the reason:",
      ...lines,
      `On Debian/Ubuntu: apt-get install ${packages}`,
    ].join("\n"),
  );
}
