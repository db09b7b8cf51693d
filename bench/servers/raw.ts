/**
 * The raw Deno baseline, written by hand the way a user would without this
 * library: `Deno.listen`, one async loop per connection reading into a reused
 * buffer (64 KiB, or `--buffer N`), frames parsed in place, each reply sent
 * with a write-all loop. `raw4k` is this server with `--buffer 4096`.
 *
 *   deno run --allow-net bench/servers/raw.ts --proto line --port 0
 *   deno run --allow-read --allow-write bench/servers/raw.ts --proto lp --unix /tmp/lp.sock
 *
 * `--proto echo` sends every chunk back as read; `line` answers each line
 * with itself; `lp` answers each length-prefixed frame with itself. A frame
 * longer than the buffer grows the connection's buffer (up to the maximum
 * frame); a longer one closes the connection.
 *
 * @module
 */
import { formatAddr, MAX_FRAME, MAX_LINE, parseServerArgs, type Protocol } from "./args.ts";

const args = parseServerArgs(Deno.args);
const bufferFlag = Deno.args.indexOf("--buffer");
const bufferSize = bufferFlag >= 0 ? Number(Deno.args[bufferFlag + 1]) : 64 * 1024;

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

async function echo(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(bufferSize);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) return;
    await writeAll(conn, buf.subarray(0, n));
  }
}

/** Bytes of the first whole frame in buf[start, end), 0 if it is not all there yet. */
function frameLength(proto: Protocol, buf: Uint8Array, start: number, end: number): number {
  if (proto === "line") {
    const nl = buf.subarray(start, end).indexOf(10);
    if (nl >= 0) return nl + 1;
    if (end - start > MAX_LINE) throw new Error("line too long");
    return 0;
  }
  if (end - start < 4) return 0;
  const length = new DataView(buf.buffer, buf.byteOffset + start, 4).getUint32(0);
  if (length > MAX_FRAME) throw new Error("frame too long");
  return end - start >= 4 + length ? 4 + length : 0;
}

/** Bytes the first frame needs at least, whole: to know how big the buffer must be. */
function frameNeeds(proto: Protocol, buf: Uint8Array, start: number, end: number): number {
  if (proto === "lp" && end - start >= 4) {
    return 4 + new DataView(buf.buffer, buf.byteOffset + start, 4).getUint32(0);
  }
  return end - start + 1;
}

async function frames(conn: Deno.Conn, proto: Protocol): Promise<void> {
  let buf = new Uint8Array(bufferSize);
  let start = 0; // the first byte not answered yet
  let end = 0; // the end of what was read
  while (true) {
    const needs = frameNeeds(proto, buf, start, end);
    if (start + needs > buf.length) {
      // Move the partial frame to the front, into a bigger buffer if it cannot fit.
      const target = needs > buf.length
        ? new Uint8Array(Math.max(needs, Math.min(buf.length * 2, MAX_LINE + 1)))
        : buf;
      target.set(buf.subarray(start, end));
      buf = target;
      end -= start;
      start = 0;
    }
    const n = await conn.read(buf.subarray(end));
    if (n === null) return;
    end += n;
    while (true) {
      const length = frameLength(proto, buf, start, end);
      if (length === 0) break;
      await writeAll(conn, buf.subarray(start, start + length));
      start += length;
    }
    if (start === end) start = end = 0;
  }
}

async function handle(conn: Deno.Conn): Promise<void> {
  try {
    if (args.proto === "echo") await echo(conn);
    else await frames(conn, args.proto);
  } catch {
    // reset by the peer, broken pipe, a frame too long: drop the connection
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

const listener: Deno.Listener = args.unix !== undefined
  ? Deno.listen({ transport: "unix", path: args.unix })
  : Deno.listen({ hostname: args.host, port: args.port });
console.log(`listening on ${formatAddr(listener.addr)}`);

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
  if ("setNoDelay" in conn) (conn as Deno.TcpConn).setNoDelay(true); // as the library does
  void handle(conn);
}
