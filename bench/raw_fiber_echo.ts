/**
 * bench/raw_echo.ts with one Effect fiber per connection and nothing else
 * (`Effect.runFork` around the raw loop): what a fiber per connection costs by
 * itself, the floor for a server handler that runs in a fiber.
 *
 *   deno task bench --lib-script bench/raw_fiber_echo.ts --only churn --servers lib,raw
 *
 * @module
 */

import { Effect } from "effect";
import { acceptLoop, handle } from "./raw_echo.ts";

if (import.meta.main) {
  await acceptLoop((conn) => Effect.runFork(Effect.promise(() => handle(conn))));
}
