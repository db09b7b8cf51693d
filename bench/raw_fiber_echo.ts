/**
 * bench/raw_echo.ts with one Effect fiber per connection and nothing else
 * (`Effect.runFork` around the raw loop): what a fiber per connection costs by
 * itself, the floor for a fiber-per-connection server such as this library's.
 *
 *   deno task bench --lib-script bench/raw_fiber_echo.ts --only churn --servers lib,raw
 *
 * @module
 */

import { Effect } from "effect";

const flag = (name: string): string | undefined => {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : undefined;
};

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

async function handle(conn: Deno.Conn): Promise<void> {
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
  Effect.runFork(Effect.promise(() => handle(conn)));
}
