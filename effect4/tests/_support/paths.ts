// Paths: files of the repository, and temporary directories.
import { Effect } from "effect";
import type * as Scope from "effect/Scope";

const testsDir = new URL("../", import.meta.url);

/** Absolute path of a file in the repository, from its path relative to tests/. */
export const repoPath = (relative: string): string =>
  decodeURIComponent(new URL(relative, testsDir).pathname);

/** A temporary directory removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => Deno.makeTempDir({ prefix: "fibernet-" })),
  (dir) => Effect.promise(() => Deno.remove(dir, { recursive: true }).catch(() => {})),
);
