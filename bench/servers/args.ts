/**
 * The command line every Deno bench server shares:
 *
 *   --proto echo|line|lp   what to speak (default echo)
 *   --host H --port P      listen on TCP (default 127.0.0.1, port 0: a free one)
 *   --unix PATH            listen on a unix socket instead
 *   --tracing              (this library's servers) a span per connection
 *
 * A server prints `listening on ADDRESS` (`127.0.0.1:PORT`, `[::1]:PORT` or
 * `unix:PATH`) once it accepts connections; bench/lib/processes.ts waits for
 * that line.
 *
 * @module
 */

/** The protocols: a byte echo, newline-ended lines, 4-byte big-endian length-prefixed frames. */
export type Protocol = "echo" | "line" | "lp";

/** Where to listen and what to speak. */
export interface ServerArgs {
  readonly proto: Protocol;
  readonly host: string;
  readonly port: number;
  readonly unix?: string;
  /** Server option `tracing`: one span per connection (the library's servers only). */
  readonly tracing: boolean;
}

/** The longest line a server accepts (a longer one closes the connection). */
export const MAX_LINE = 64 * 1024;
/** The longest length-prefixed payload a server accepts. */
export const MAX_FRAME = 8 * 1024 * 1024;

/** Parses the flags above; exits with a message on a bad one. */
export function parseServerArgs(args: ReadonlyArray<string>): ServerArgs {
  const flag = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const proto = flag("--proto") ?? "echo";
  if (proto !== "echo" && proto !== "line" && proto !== "lp") {
    console.error(`--proto must be echo, line or lp, not ${JSON.stringify(proto)}`);
    Deno.exit(2);
  }
  const port = Number(flag("--port") ?? "0");
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be 0..65535`);
    Deno.exit(2);
  }
  return {
    proto,
    host: flag("--host") ?? "127.0.0.1",
    port,
    unix: flag("--unix"),
    tracing: args.includes("--tracing"),
  };
}

/** An address as loadgen and the runner read it. */
export function formatAddr(addr: Deno.Addr): string {
  if (addr.transport === "unix" || addr.transport === "unixpacket") {
    return `unix:${(addr as Deno.UnixAddr).path}`;
  }
  const { hostname, port } = addr as Deno.NetAddr;
  return hostname.includes(":") ? `[${hostname}]:${port}` : `${hostname}:${port}`;
}
