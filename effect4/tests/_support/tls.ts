// TLS test certificates, made at test time (nothing secret is in the repository).

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
