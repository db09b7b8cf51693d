// Certificates and keys as PEM text: given inline or read from files, checked
// before use so that a mistake is reported where it was made (at listen, at
// connect) with what to fix, not as a failed handshake later.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { classify } from "../classify.ts";
import { causeMessage, ExplainedError } from "../failure.ts";
import { PEM_REASONS, type PemReason } from "./reasons.ts";

/**
 * Trusted certificate authorities, added to the system's roots: PEM text in
 * `caCerts`, files of PEM text in `caFiles`. A self-signed certificate can be
 * its own CA when it is not marked as a CA (`basicConstraints=CA:FALSE`).
 *
 * @example
 * ```ts
 * import type { TrustOptions } from "@fibernet/socket/core";
 * const trust: TrustOptions = { caFiles: ["/etc/myapp/ca.pem"] };
 * ```
 */
export interface TrustOptions {
  /** CA certificates as PEM text. */
  readonly caCerts?: ReadonlyArray<string>;
  /** Paths of PEM files holding CA certificates (needs `--allow-read`). */
  readonly caFiles?: ReadonlyArray<string>;
}

/**
 * A certificate chain and its private key, each as PEM text or as a path of
 * a PEM file (reading a file needs `--allow-read`).
 *
 * @example
 * ```ts
 * import type { KeyPair } from "@fibernet/socket/core";
 * const identity: KeyPair = { certFile: "./cert.pem", keyFile: "./key.pem" };
 * ```
 */
export interface KeyPair {
  /** The certificate chain as PEM text, leaf first. */
  readonly cert?: string;
  /** A path of the certificate chain's PEM file. */
  readonly certFile?: string;
  /** The private key as PEM text (PKCS#8, RSA or EC). */
  readonly key?: string;
  /** A path of the private key's PEM file. */
  readonly keyFile?: string;
}

/**
 * A certificate chain and its key, as PEM text.
 *
 * @example
 * ```ts
 * import type { CertifiedKey } from "@fibernet/socket/core";
 * declare const pem: CertifiedKey;
 * console.log(pem.cert.split("\n")[0]); // -----BEGIN CERTIFICATE-----
 * ```
 */
export interface CertifiedKey {
  /** The certificate chain, leaf first. */
  readonly cert: string;
  /** The private key. */
  readonly key: string;
}

/** Where PEM text is used, for messages. */
type PemOperation = "connect" | "listen" | "handshake";

const pemReasons: ReadonlySet<PemReason> = new Set(PEM_REASONS);
const CERT_MARK = "-----BEGIN CERTIFICATE-----";
const KEY_MARK = /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;

const invalid = (
  operation: PemOperation,
  address: string | undefined,
  detail: string,
  cause?: unknown,
) => new ExplainedError({ reason: "InvalidData", operation, address, detail, cause });

/** The text of a PEM file; rejects with an ExplainedError that says which file and why. */
const readPem = async (path: string, operation: PemOperation, what: string): Promise<string> => {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotCapable) {
      throw new ExplainedError({
        reason: "NotCapable",
        operation,
        address: path,
        detail: `reading the ${what} needs --allow-read=${path}`,
        cause: error,
      });
    }
    throw new ExplainedError({
      reason: classify(error, operation, path, pemReasons).reason,
      operation,
      address: path,
      detail: `cannot read the ${what} file: ${causeMessage(error) ?? String(error)}`,
      cause: error,
    });
  }
};

/**
 * The CA certificates of `options` as PEM text (files read), or undefined
 * when none are given (the system's roots alone). Rejects with an
 * ExplainedError (reasons: {@link PEM_REASONS}).
 *
 * @example
 * ```ts
 * import { loadTrust } from "@fibernet/socket/core";
 * const caCerts = await loadTrust({ caFiles: ["./ca.pem"] }, "connect");
 * ```
 */
export const loadTrust = async (
  options: TrustOptions | undefined,
  operation: PemOperation,
): Promise<Array<string> | undefined> => {
  const inline = options?.caCerts ?? [];
  const files = options?.caFiles ?? [];
  if (inline.length === 0 && files.length === 0) return undefined;
  const fromFiles: Array<string> = [];
  for (const path of files) {
    const text = await readPem(path, operation, "CA certificate");
    if (!text.includes(CERT_MARK)) {
      throw invalid(operation, path, "no PEM certificate in this CA file");
    }
    fromFiles.push(text);
  }
  const bad = inline.findIndex((text) => !text.includes(CERT_MARK));
  if (bad >= 0) {
    throw invalid(
      operation,
      undefined,
      `caCerts[${bad}] is not a PEM certificate (${CERT_MARK})`,
    );
  }
  return [...inline, ...fromFiles];
};

/**
 * The certificate and key of `pair` as PEM text (files read); undefined when
 * neither is given and `required` is false. Rejects with an ExplainedError
 * (reasons: {@link PEM_REASONS}) when half is missing, both forms of one are
 * given, a file cannot be read, or a text is not PEM.
 *
 * @example
 * ```ts
 * import { loadKeyPair } from "@fibernet/socket/core";
 * const pem = await loadKeyPair({ certFile: "./cert.pem", keyFile: "./key.pem" }, "listen", true);
 * ```
 */
export const loadKeyPair = async (
  pair: KeyPair | undefined,
  operation: PemOperation,
  required: boolean,
): Promise<CertifiedKey | undefined> => {
  const hasCert = pair?.cert !== undefined || pair?.certFile !== undefined;
  const hasKey = pair?.key !== undefined || pair?.keyFile !== undefined;
  const who = operation === "listen" ? "a TLS server" : "a client certificate";
  if (pair === undefined || (!hasCert && !hasKey)) {
    if (!required) return undefined;
    throw invalid(
      operation,
      undefined,
      `${who} needs cert (PEM text) or certFile, and key or keyFile`,
    );
  }
  if (!hasCert || !hasKey) {
    throw invalid(operation, undefined, `${who} needs both a certificate and its private key`);
  }
  if (pair.cert !== undefined && pair.certFile !== undefined) {
    throw invalid(operation, undefined, "give cert or certFile, not both");
  }
  if (pair.key !== undefined && pair.keyFile !== undefined) {
    throw invalid(operation, undefined, "give key or keyFile, not both");
  }
  const cert = pair.cert ?? await readPem(pair.certFile!, operation, "certificate");
  const key = pair.key ?? await readPem(pair.keyFile!, operation, "private key");
  if (!cert.includes(CERT_MARK)) {
    throw invalid(operation, pair.certFile, `the certificate is not PEM text (${CERT_MARK})`);
  }
  if (!KEY_MARK.test(key)) {
    throw invalid(
      operation,
      pair.keyFile,
      "the private key is not PEM text (-----BEGIN PRIVATE KEY-----)",
    );
  }
  return { cert, key };
};

/**
 * Checks that a server can use `pem`: the certificate parses, the key parses,
 * and the key belongs to the certificate. Throws an ExplainedError
 * (`InvalidData`, operation `listen`) that says which.
 *
 * @example
 * ```ts
 * import { checkKeyPair, type CertifiedKey } from "@fibernet/socket/core";
 * declare const pem: CertifiedKey;
 * checkKeyPair(pem, "127.0.0.1:8443"); // throws if the key is not the certificate's
 * ```
 */
export const checkKeyPair = (pem: CertifiedKey, address: string): void => {
  let matches: boolean;
  try {
    matches = new X509Certificate(pem.cert).checkPrivateKey(createPrivateKey(pem.key));
  } catch (error) {
    throw invalid(
      "listen",
      address,
      `the certificate or key cannot be used [${causeMessage(error) ?? String(error)}]`,
      error,
    );
  }
  if (!matches) {
    throw invalid("listen", address, "the private key does not belong to the certificate");
  }
};
