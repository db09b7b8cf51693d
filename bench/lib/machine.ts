/**
 * A description of the machine and tools a run was measured with, kept in
 * the results so that figures are never read without their context.
 *
 * @module
 */

/** The machine and the runtimes. */
export interface Machine {
  nproc: number;
  cpu: string;
  memTotalMiB?: number;
  os: string;
  kernel: string;
  deno: string;
  v8: string;
  node?: string;
  cc?: string;
}

/** Reads what Deno and /proc say about this machine. */
export async function describeMachine(): Promise<Machine> {
  let cpu = "unknown";
  let memTotalMiB: number | undefined;
  try {
    const info = await Deno.readTextFile("/proc/cpuinfo");
    cpu = info.match(/^model name\s*:\s*(.+)$/m)?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  try {
    const kib = (await Deno.readTextFile("/proc/meminfo")).match(/^MemTotal:\s+(\d+)/m)?.[1];
    if (kib) memTotalMiB = Math.round(Number(kib) / 1024);
  } catch {
    // not Linux
  }
  return {
    nproc: navigator.hardwareConcurrency,
    cpu,
    memTotalMiB,
    os: Deno.build.os,
    kernel: Deno.osRelease(),
    deno: Deno.version.deno,
    v8: Deno.version.v8,
  };
}
