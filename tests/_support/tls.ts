// TLS test certificates, made at test time (nothing secret is in the repository).
import { afterAll, beforeAll } from "vitest";

/**
 * Makes a throwaway self-signed certificate for localhost / 127.0.0.1 in
 * `dir` (`cert.pem`, `key.pem`) with openssl; rejects when openssl fails or
 * is missing (guard the test with `it.skipIf(missing("openssl"))`).
 * basicConstraints CA:FALSE because rustls refuses a CA as an end entity.
 */
export const selfSignedCert = async (dir: string): Promise<void> => {
  const out = await new Deno.Command("openssl", {
    args: [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"],
      ...["-nodes", "-days", "1", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
      ...["-addext", "basicConstraints=critical,CA:FALSE"],
      ...["-keyout", `${dir}/key.pem`, "-out", `${dir}/cert.pem`],
    ],
    stdout: "null",
    stderr: "piped",
    signal: AbortSignal.timeout(20_000),
  }).output();
  if (!out.success) {
    throw new Error(`openssl req failed: ${new TextDecoder().decode(out.stderr)}`);
  }
};

/**
 * A self-signed certificate made once for a test file (in `beforeAll`) and
 * removed after it: its PEM texts and the directory holding `cert.pem` and
 * `key.pem`. Without openssl the fields stay empty; guard the tests with
 * `needsForEach("openssl")`.
 */
export const sharedCertificate = (
  prefix: string,
): { readonly dir: string; readonly cert: string; readonly key: string } => {
  const shared = { dir: "", cert: "", key: "" };
  beforeAll(async () => {
    shared.dir = await Deno.makeTempDir({ prefix });
    try {
      await selfSignedCert(shared.dir);
      shared.cert = await Deno.readTextFile(`${shared.dir}/cert.pem`);
      shared.key = await Deno.readTextFile(`${shared.dir}/key.pem`);
    } catch {
      // openssl is missing: the file's tests are skipped.
    }
  });
  afterAll(async () => {
    if (shared.dir) await Deno.remove(shared.dir, { recursive: true }).catch(() => {});
  });
  return shared;
};
