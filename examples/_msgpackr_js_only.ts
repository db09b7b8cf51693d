/**
 * Imported before `@effect/rpc`: tells msgpackr, which `@effect/rpc` loads,
 * not to look for its optional native addon. The search reads
 * `/proc/self/exe` and `/usr/bin/ldd` and counts the CPUs, and Deno asks the
 * user about each of these on a terminal. These examples speak JSON anyway.
 *
 * @module
 */
Deno.env.set("MSGPACKR_NATIVE_ACCELERATION_DISABLED", "true");
