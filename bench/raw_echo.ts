/**
 * The raw Deno baseline for the benchmark: an echo server written plainly, as a
 * user would write it without this library — `Deno.listen`, one async loop per
 * connection reading into a reused 64 KiB buffer, and a write-all loop.
 *
 *   deno run --allow-net bench/raw_echo.ts --port 0
 *   deno run --allow-read --allow-write bench/raw_echo.ts --unix /tmp/echo.sock
 *
 * Prints `listening on 127.0.0.1:PORT` (or `listening on unix:PATH`) once
 * ready.
 *
 * @module
 */

const flag = (name: string): string | undefined => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};

/** Echoes one connection until end of stream, then closes it. */
export async function handle(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    while (true) {
      const n = await conn.read(buf);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // reset by the peer, broken pipe: drop the connection
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

/**
 * Listens where the flags say, prints the address, and passes every accepted
 * connection to `serve` until SIGINT or SIGTERM.
 */
export async function acceptLoop(serve: (conn: Deno.Conn) => void): Promise<void> {
  const unixPath = flag("--unix");
  const listener: Deno.Listener = unixPath !== undefined
    ? Deno.listen({ transport: "unix", path: unixPath })
    : Deno.listen({ hostname: "127.0.0.1", port: Number(flag("--port") ?? "7000") });

  const addr = listener.addr;
  console.log(
    "hostname" in addr
      ? `listening on ${addr.hostname}:${addr.port}`
      : `listening on unix:${(addr as Deno.UnixAddr).path}`,
  );

  const stop = () => {
    listener.close();
    Deno.exit(0);
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);

  while (true) {
    let conn: Deno.Conn;
    try {
      conn = await listener.accept();
    } catch (error) {
      if (error instanceof Deno.errors.BadResource) break; // listener closed
      // EMFILE and the like: the listener survives, try again shortly.
      await new Promise((resolve) => setTimeout(resolve, 10));
      continue;
    }
    serve(conn);
  }
}

if (import.meta.main) await acceptLoop((conn) => void handle(conn));
