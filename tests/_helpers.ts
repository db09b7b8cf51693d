// Shared test utilities: temp dirs, IPv6 detection, child processes.
import * as net from "node:net";
import { Effect, Layer } from "effect";
import { Connection, Server, type SocketError, Tcp, type Udp } from "../mod.ts";
import type * as Scope from "effect/Scope";

/** A temporary directory removed when the scope closes. */
export const tempDir: Effect.Effect<string, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(() => Deno.makeTempDir({ prefix: "fibernet-" })),
  (dir) => Effect.promise(() => Deno.remove(dir, { recursive: true }).catch(() => {})),
);

/** True when ::1 can be bound on this machine. */
export const hasIpv6: boolean = (() => {
  try {
    const l = Deno.listen({ hostname: "::1", port: 0 });
    l.close();
    return true;
  } catch {
    return false;
  }
})();

/** Bytes 0..n-1 of a deterministic pattern, so any loss or reordering shows. */
export const pattern = (n: number, seed = 0): Uint8Array => {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
};

/** True when the two byte arrays are equal. */
export const sameBytes = (a: Uint8Array, b: Uint8Array): boolean => {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** Number of open file descriptors of this process. */
export const openFds = (): number => [...Deno.readDirSync("/proc/self/fd")].length;

/** Runs python3 code with a timeout; returns stdout. */
export const python = (code: string, timeoutMs = 20_000): Promise<string> =>
  new Deno.Command("python3", {
    args: ["-c", code],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output().then((out) => {
    const text = new TextDecoder().decode(out.stdout);
    if (!out.success) throw new Error(`python failed: ${new TextDecoder().decode(out.stderr)}`);
    return text;
  });

/** Absolute path of a file in the repository, from its path relative to tests/. */
export const repoPath = (relative: string): string =>
  decodeURIComponent(new URL(relative, import.meta.url).pathname);

/** An echo handler: every chunk straight back. */
export const echo: Server.Handler<SocketError.SocketError, never> = (conn) =>
  Connection.forEachChunk(conn, conn.write);

/** Starts a server on a free loopback TCP port in the current scope; returns it. */
export const startServer = <E, R>(
  handler: Server.Handler<E, R> | Server.Loop,
  options?: Server.Options,
): Effect.Effect<Server.Server, SocketError.SocketError, Scope.Scope | Exclude<R, Scope.Scope>> =>
  Effect.gen(function* () {
    const scope = yield* Effect.scope;
    const layer = Server.serveForever(handler, options).pipe(
      Layer.provide(Tcp.layer("127.0.0.1:0")),
    );
    const context = yield* Layer.buildWithScope(layer, scope);
    return yield* Effect.provide(Server.Server, context);
  });

/** The bytes of all `parts`, one after the other. */
export const concatBytes = (parts: ReadonlyArray<Uint8Array>): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};

/**
 * Makes a throwaway self-signed certificate for localhost / 127.0.0.1 in
 * `dir` (`cert.pem`, `key.pem`) with openssl; false when openssl is missing.
 * basicConstraints CA:FALSE because rustls refuses a CA as an end entity.
 */
export const selfSignedCert = (dir: string): Promise<boolean> =>
  new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
      ...["-nodes", "-days", "1", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      ...["-addext", "basicConstraints=critical,CA:FALSE"],
      ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
    ],
    stdout: "null",
    stderr: "null",
  }).output().then((out) => out.success, () => false);

/**
 * Runs an example as a user would (`deno run FLAGS examples/FILE`), types
 * `input` on its stdin, and returns its exit status and output.
 */
export const runExample = async (
  file: string,
  flags: ReadonlyArray<string>,
  input: string,
): Promise<Deno.CommandOutput> => {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, repoPath(`../examples/${file}`)],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  return await child.output();
};

/**
 * A loopback TCP peer that answers the first data it receives with an RST,
 * closed with the scope; gives its port. Deno's own close() sends FIN even
 * with unread data, so node:net does the reset.
 */
export const resettingOnData: Effect.Effect<number, never, Scope.Scope> = Effect.map(
  Effect.acquireRelease(
    Effect.async<net.Server>((resume) => {
      const peer = net.createServer((s) => s.once("data", () => s.resetAndDestroy()));
      peer.listen(0, "127.0.0.1", () => resume(Effect.succeed(peer)));
    }),
    (peer) => Effect.sync(() => peer.close()),
  ),
  (peer) => (peer.address() as net.AddressInfo).port,
);

/**
 * A loopback TCP client that sends one byte, waits for any answer, then
 * resets the connection (RST, not FIN); resolves once it has.
 */
export const resettingClient = (port: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1", () => socket.write("x"));
    socket.once("data", () => {
      socket.resetAndDestroy();
      resolve();
    });
    socket.once("error", reject);
  });

/** Waits until the endpoint has stopped reading datagrams (its counter is still). */
export const settle = (endpoint: Udp.DatagramSocket): Effect.Effect<void> =>
  Effect.gen(function* () {
    let last = -1;
    let still = 0;
    for (let i = 0; i < 400 && still < 3; i++) {
      yield* Effect.sleep("25 millis");
      const now = endpoint.stats.received;
      still = now === last ? still + 1 : 0;
      last = now;
    }
  });
