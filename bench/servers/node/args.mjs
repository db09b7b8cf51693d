// The command line of the bench servers run by Node (and effect4.mjs under
// Deno), the same as the Deno servers' (../args.ts):
//   --proto echo|line|lp   --host H --port P   or   --unix PATH
// Each prints `listening on ADDRESS` once it accepts connections.
import process from "node:process";

/** The parsed flags: { proto, host, port, unix, listen } (listen: node:net options). */
export function parseServerArgs(argv = process.argv.slice(2)) {
  const flag = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const proto = flag("--proto") ?? "echo";
  if (!["echo", "line", "lp"].includes(proto)) {
    console.error(`--proto must be echo, line or lp, not ${JSON.stringify(proto)}`);
    process.exit(2);
  }
  const host = flag("--host") ?? "127.0.0.1";
  const port = Number(flag("--port") ?? "0");
  const unix = flag("--unix");
  return { proto, host, port, unix, listen: unix !== undefined ? { path: unix } : { host, port } };
}

/** `HOST:PORT` ([v6]:PORT) or `unix:PATH` from a node:net server's address(). */
export function formatNetAddress(address) {
  if (typeof address === "string") return `unix:${address}`;
  return address.address.includes(":")
    ? `[${address.address}]:${address.port}`
    : `${address.address}:${address.port}`;
}

/** Exits on SIGINT or SIGTERM, as the runner expects. */
export function exitOnSignals() {
  process.on("SIGINT", () => process.exit(0));
  process.on("SIGTERM", () => process.exit(0));
}
