/**
 * Progress lines (stderr, so stdout carries only the report) and fatal
 * setup errors.
 *
 * @module
 */

/** A progress line. */
export const log = (message: string): void => console.error(`[bench] ${message}`);

/** Thrown for a problem the person running the benchmark must fix; run.ts prints its message. */
export class BenchError extends Error {}
