/**
 * What the benchmark reads about a process from Linux's /proc: its resident
 * memory, and the machine's load. (A server's CPU time is read by loadgen
 * itself, at the exact edges of its measured window: bench/loadgen.c.)
 *
 * @module
 */

/** Resident set size of `pid`, KiB (VmRSS). */
export async function rssKiB(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+)\s+kB/m);
  if (!match) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]);
}

/** The one-minute load average, if the system says. */
export async function loadAvg(): Promise<number | undefined> {
  try {
    return Number((await Deno.readTextFile("/proc/loadavg")).split(" ")[0]);
  } catch {
    return undefined;
  }
}
