/**
 * A TLS echo server and client in one file. Without a certificate it makes a
 * throwaway self-signed one with `openssl` (valid for localhost, 127.0.0.1
 * and ::1) in a temporary directory.
 *
 *   deno run --allow-net=127.0.0.1 --allow-run=openssl --allow-read --allow-write examples/tls_echo.ts
 *       server on a free port + interactive client: each line typed comes back; q quits
 *   deno run --allow-net=127.0.0.1 --allow-run=openssl --allow-read --allow-write examples/tls_echo.ts --serve --port 8443
 *       server only; prints where the certificate is, for clients to trust
 *   deno run --allow-net=127.0.0.1 --allow-read examples/tls_echo.ts --serve --cert cert.pem --key key.pem
 *   deno run --allow-net=127.0.0.1 --allow-read examples/tls_echo.ts --connect 127.0.0.1:8443 --ca cert.pem
 *
 * The client exits after `q` (or Ctrl-D) and shows the echo escaped
 * (`Printable.escape`). `--help` prints the usage.
 *
 * Test it with OpenSSL too: `openssl s_client -connect 127.0.0.1:8443 -CAfile cert.pem`.
 *
 * @module
 */
import { Effect, Layer, Option, type Scope } from "effect";
import { Address, Connection, Printable, Server, SocketError, Tls } from "../mod.ts";
import {
  hostPort,
  parseFlags,
  runExample,
  stdinLines,
  type UsageError,
  write,
} from "./_terminal.ts";

/** A generated certificate: PEM text and the files holding it. */
export interface Certificate {
  /** The certificate, PEM. */
  readonly cert: string;
  /** The private key, PEM. */
  readonly key: string;
  /** Path of the certificate file. */
  readonly certFile: string;
  /** Path of the key file. */
  readonly keyFile: string;
}

/** Options for {@link generateCertificate}. */
export interface CertificateOptions {
  /** The subject's common name. Default "localhost". */
  readonly commonName?: string;
  /** Names and IP addresses it is valid for. Default localhost, 127.0.0.1, ::1. */
  readonly hosts?: ReadonlyArray<string>;
  /** File name prefix inside `dir`. Default "server". */
  readonly name?: string;
}

/** True when an `openssl` command can be run. */
export const hasOpenssl = (): boolean => {
  try {
    return new Deno.Command("openssl", { args: ["version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
};

/**
 * Makes a self-signed EC certificate with `openssl` in `dir`. It is marked as
 * not a CA (`basicConstraints=critical,CA:FALSE`), which rustls requires of a
 * server certificate; it can then be its own trust anchor (`caCerts`).
 */
export const generateCertificate = (
  dir: string,
  options?: CertificateOptions,
): Effect.Effect<Certificate, SocketError.SocketError<"NotFound" | "Unknown">> =>
  Effect.tryPromise({
    try: async () => {
      const name = options?.name ?? "server";
      const certFile = `${dir}/${name}.pem`;
      const keyFile = `${dir}/${name}-key.pem`;
      const hosts = options?.hosts ?? ["localhost", "127.0.0.1", "::1"];
      const san = hosts.map((h) => /^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`).join(",");
      const out = await new Deno.Command("openssl", {
        args: [
          "req",
          "-x509",
          "-newkey",
          "ec",
          "-pkeyopt",
          "ec_paramgen_curve:P-256",
          "-nodes",
          "-days",
          "2",
          "-subj",
          `/CN=${options?.commonName ?? "localhost"}`,
          "-addext",
          "basicConstraints=critical,CA:FALSE",
          ...(hosts.length > 0 ? ["-addext", `subjectAltName=${san}`] : []),
          "-keyout",
          keyFile,
          "-out",
          certFile,
        ],
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).trim());
      return {
        cert: await Deno.readTextFile(certFile),
        key: await Deno.readTextFile(keyFile),
        certFile,
        keyFile,
      };
    },
    catch: (cause) =>
      cause instanceof Deno.errors.NotFound
        ? new SocketError.SocketError({
          reason: "NotFound",
          operation: "listen",
          detail: "openssl is not installed: install it, or pass --cert and --key",
          cause,
        })
        : new SocketError.SocketError({
          reason: "Unknown",
          operation: "listen",
          detail: `openssl failed: ${cause instanceof Error ? cause.message : String(cause)}`,
          cause,
        }),
  });

/** The echo handler: every byte back, until the client closes. */
export const echo = (
  conn: Connection.Connection,
): Effect.Effect<void, SocketError.SocketError> => Connection.forEachChunk(conn, conn.write);

/** The certificate to serve with: the given files, or a throwaway one deleted at exit. */
const serverCertificate = (
  certFile: string | undefined,
  keyFile: string | undefined,
): Effect.Effect<
  Tls.KeyPair & { readonly certFile?: string },
  SocketError.SocketError,
  Scope.Scope
> => {
  if (certFile !== undefined && keyFile !== undefined) return Effect.succeed({ certFile, keyFile });
  if (certFile !== undefined || keyFile !== undefined) {
    return Effect.fail(
      new SocketError.SocketError({
        reason: "InvalidData",
        operation: "listen",
        detail: "--cert and --key go together",
      }),
    );
  }
  return Effect.flatMap(
    Effect.acquireRelease(
      Effect.promise(() => Deno.makeTempDir({ prefix: "tls-echo-" })),
      (dir) => Effect.promise(() => Deno.remove(dir, { recursive: true }).catch(() => {})),
    ),
    (dir) =>
      Effect.map(generateCertificate(dir), (made) => ({
        certFile: made.certFile,
        keyFile: made.keyFile,
      })),
  );
};

/**
 * The interactive client: sends each line, prints the echo (escaped: the
 * server could send terminal escape sequences); `q` or end of input quits.
 */
export const client = (
  address: string,
  trust: Tls.TrustOptions,
): Effect.Effect<void, SocketError.SocketError> =>
  Effect.gen(function* () {
    const conn = yield* Tls.connect(address, { ...trust, timeout: "5 seconds" });
    const info = yield* conn.handshake;
    yield* write(
      `connected to ${address} over TLS${
        info.alpnProtocol ? ` (${info.alpnProtocol})` : ""
      }; type lines, q quits\n`,
    );
    const nextLine = yield* stdinLines;
    while (true) {
      const line = yield* nextLine;
      if (Option.isNone(line) || line.value === "q") return;
      const bytes = new TextEncoder().encode(`${line.value}\n`);
      yield* conn.write(bytes);
      const back = yield* conn.readExactly(bytes.length);
      const text = new TextDecoder().decode(back).replace(/\n$/, "");
      yield* write(`echo: ${Printable.escape(text, { maxLength: Infinity })}\n`);
    }
  }).pipe(Effect.scoped);

const usage = `usage:
  tls_echo.ts                                       server on a free port + interactive client
  tls_echo.ts --serve [--host H] [--port P] [--cert FILE --key FILE]
                                                    server only (default 127.0.0.1:8443); without
                                                    --cert a throwaway certificate is made with openssl
  tls_echo.ts --connect H:P [--ca FILE]             client only, trusting the certificate in FILE
  tls_echo.ts --help`;

const main = (
  args: ReadonlyArray<string>,
): Effect.Effect<void, SocketError.SocketError | UsageError> =>
  Effect.gen(function* () {
    const flags = yield* parseFlags(args, {
      values: ["--connect", "--ca", "--host", "--port", "--cert", "--key"],
      switches: ["--serve"],
    });
    if (flags.has("--help")) return yield* write(`${usage}\n`);
    const connect = flags.value("--connect");
    if (connect !== undefined) {
      const ca = flags.value("--ca");
      return yield* client(connect, ca !== undefined ? { caFiles: [ca] } : {});
    }
    const pair = yield* serverCertificate(flags.value("--cert"), flags.value("--key"));
    const serveOnly = flags.has("--serve");
    const address = hostPort(
      flags.value("--host") ?? "127.0.0.1",
      flags.value("--port") ?? (serveOnly ? "8443" : "0"),
    );
    yield* Effect.gen(function* () {
      const server = yield* Server.Server;
      const where = Address.format(server.address);
      if (serveOnly) {
        console.log(`TLS echo listening on ${where} (certificate: ${pair.certFile ?? "inline"})`);
        return yield* Effect.never;
      }
      yield* client(where, { caFiles: [pair.certFile!] });
    }).pipe(
      Effect.provide(Server.serveForever(echo).pipe(Layer.provide(Tls.layer(address, pair)))),
    );
  }).pipe(Effect.scoped);

if (import.meta.main) runExample("tls_echo", usage, main(Deno.args));
