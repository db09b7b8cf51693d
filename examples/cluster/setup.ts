/**
 * The command-line flags the runner and the client share: where the
 * database is, and the TLS files.
 *
 * @module
 */
import { Effect } from "effect";
import { type Flags, UsageError } from "../_terminal.ts";
import type { Setup } from "./counter.ts";

/** `--database` (or `DATABASE_URL`) and, all three or none, `--cert`, `--key`, `--ca`. */
export const setupFrom = (flags: Flags): Effect.Effect<Setup, UsageError> =>
  Effect.suspend(() => {
    const database = flags.value("--database") ?? Deno.env.get("DATABASE_URL");
    if (database === undefined) {
      return Effect.fail(new UsageError({ message: "give --database URL or set DATABASE_URL" }));
    }
    const [cert, key, ca] = ["--cert", "--key", "--ca"].map(flags.value);
    if (cert === undefined && key === undefined && ca === undefined) {
      return Effect.succeed({ database });
    }
    if (cert === undefined || key === undefined || ca === undefined) {
      return Effect.fail(new UsageError({ message: "TLS needs all of --cert, --key and --ca" }));
    }
    return Effect.succeed({ database, tls: { cert, key, ca } });
  });
