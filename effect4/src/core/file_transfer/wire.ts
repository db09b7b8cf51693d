// What the two upload protocols put on the wire, apart from the length
// prefix of control frames (the face's Framing codec adds and reads it).
//
// This library's protocol:
//   sender → receiver   hello "FNFT" 0x01, then a header frame {name, size, sha256}
//   receiver → sender   reply frame {ok: true} or {ok: false, reason, detail}
//   sender → receiver   exactly `size` raw bytes, then an end frame {done: true}
//   receiver → sender   verdict frame {ok: true, name, size, sha256} or a failure
//
// The tutorial's protocol: the client sends the size as decimal text, waits
// for any answer ("OK\n"), sends the raw bytes and closes; the receiver ends
// with "DONE <sha256>\n" or "ERROR <reason>: <detail>\n".
import { escapeText } from "../printable.ts";
import { quote, TransferFailure } from "./failure.ts";
import { storedName } from "./names.ts";
import { isTransferReason, type TransferReason } from "./reasons.ts";

/** The bytes that open this library's protocol: "FNFT" and version 1. */
export const MAGIC: Uint8Array = new Uint8Array([0x46, 0x4e, 0x46, 0x54, 0x01]);
/** Longest control frame payload (the JSON objects), either way. */
export const CONTROL_FRAME_MAX = 64 * 1024;

/** A control frame's payload, parsed. */
export type Json = Record<string, unknown>;

/** True when `bytes` could be the start of the hello (checks what is there). */
export const startsLikeHello = (bytes: Uint8Array): boolean => {
  const n = Math.min(bytes.length, MAGIC.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== MAGIC[i]) return false;
  return true;
};

/** True when a first byte opens the tutorial's protocol (a decimal digit). */
export const opensTutorial = (byte: number | undefined): boolean =>
  byte !== undefined && byte >= 0x30 && byte <= 0x39;

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** A control frame's payload as a JSON object, or undefined if it is not one. */
export const parseObject = (payload: Uint8Array): Json | undefined => {
  try {
    const value: unknown = JSON.parse(utf8.decode(payload));
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Json;
  } catch {
    // not UTF-8 or not JSON
  }
  return undefined;
};

/** The failure for a frame that is not a JSON object. */
export const notAnObject = (doing: string): TransferFailure<"ProtocolError"> =>
  new TransferFailure(
    "ProtocolError",
    `the peer sent a frame that is not a JSON object while ${doing}`,
  );

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** True for 64 hex digits (either case). */
export const isSha256 = (value: unknown): value is string =>
  typeof value === "string" && SHA256_HEX.test(value.toLowerCase());

/** An accepted header. */
export interface Header {
  /** The name the file is stored under (NFC). */
  readonly name: string;
  /** Bytes to come. */
  readonly size: number;
  /** The SHA-256 they must hash to, lowercase. */
  readonly sha256: string;
}

/** Checks a header frame against the receiver's limits. */
export const parseHeader = (header: Json, maxSize: number): Header | TransferFailure => {
  const name = storedName(header.name);
  if (name instanceof TransferFailure) return name;
  const size = header.size;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) {
    return new TransferFailure(
      "ProtocolError",
      `the header's size is not a byte count: ${quote(size)}`,
      { name },
    );
  }
  if (size > maxSize) {
    return new TransferFailure("TooLarge", `${size} bytes is over the limit of ${maxSize} bytes`, {
      name,
    });
  }
  if (!isSha256(header.sha256)) {
    return new TransferFailure("ProtocolError", "the header's sha256 is not 64 hex digits", {
      name,
    });
  }
  return { name, size, sha256: header.sha256.toLowerCase() };
};

/** The header a sender announces. */
export const headerPayload = (name: string, size: number, sha256: string): string =>
  JSON.stringify({ name, size, sha256 });

/** The receiver's go-ahead. */
export const OK_PAYLOAD = JSON.stringify({ ok: true });
/** The sender's end frame. */
export const END_PAYLOAD = JSON.stringify({ done: true });

/** The receiver's success verdict. */
export const verdictPayload = (name: string, size: number, sha256: string): string =>
  JSON.stringify({ ok: true, name, size, sha256 });

/** A refusal or failed verdict. */
export const failurePayload = (reason: TransferReason, detail: string): string =>
  JSON.stringify({ ok: false, reason, detail });

/** Longest detail kept from a peer's failure frame. */
const REMOTE_DETAIL_MAX = 1000;

/** The failure a peer's failure frame reports (its text escaped and capped). */
export const remoteFailure = (frame: Json, name: string | undefined): TransferFailure => {
  const reason = isTransferReason(frame.reason) ? frame.reason : "ProtocolError";
  const detail = typeof frame.detail === "string"
    ? escapeText(frame.detail, { maxLength: REMOTE_DETAIL_MAX })
    : `the peer refused without a reason (${quote(frame, 200)})`;
  return new TransferFailure(reason, detail, { remote: true, name });
};

/**
 * The stored name a success verdict confirms, or why the verdict does not
 * confirm what was sent.
 */
export const checkVerdict = (
  verdict: Json,
  sent: { readonly name: string; readonly size: number; readonly sha256: string },
): string | TransferFailure => {
  if (verdict.ok !== true) return remoteFailure(verdict, sent.name);
  if (verdict.sha256 !== sent.sha256 || verdict.size !== sent.size) {
    return new TransferFailure(
      "ProtocolError",
      `the receiver confirmed something else (${quote(verdict, 300)})`,
      { name: sent.name },
    );
  }
  // The caller shows this name: it must be one this side would accept.
  if (storedName(verdict.name) instanceof TransferFailure) {
    return new TransferFailure(
      "ProtocolError",
      `the receiver confirmed an invalid name (${quote(verdict.name)})`,
      { name: sent.name },
    );
  }
  return verdict.name as string;
};

// ---------------------------------------------------------------------------
// The tutorial's protocol

const TUTORIAL_SIZE = /^\s*(\d{1,16})\s*$/;
const latin1 = new TextDecoder("latin1");

/**
 * The size a tutorial client announced in its first chunk (which holds all
 * of it: the client waits for the answer), or why it is refused.
 */
export const parseTutorialSize = (first: Uint8Array, maxSize: number): number | TransferFailure => {
  const match = TUTORIAL_SIZE.exec(latin1.decode(first));
  if (match === null) {
    return new TransferFailure(
      "ProtocolError",
      "expected the file size as decimal digits, then a wait for the answer",
    );
  }
  const size = Number(match[1]);
  if (!Number.isSafeInteger(size)) {
    return new TransferFailure("ProtocolError", `the size ${match[1]} is too big to be exact`);
  }
  if (size > maxSize) {
    return new TransferFailure("TooLarge", `${size} bytes is over the limit of ${maxSize} bytes`);
  }
  return size;
};

/** The answer to the size: the client sends the bytes once it has it. */
export const TUTORIAL_OK = "OK\n";
/** The answer once the file is stored. */
export const tutorialDone = (sha256: string): string => `DONE ${sha256}\n`;
/** The answer when the upload failed: one line. */
export const tutorialError = (reason: TransferReason, detail: string): string =>
  `ERROR ${reason}: ${escapeText(detail, { maxLength: 1000 })}\n`;

/** `upload-<date>-<time>-<random>.bin`, in UTC: the name of a tutorial upload. */
export const defaultTutorialName = (now: Date = new Date()): string => {
  const pad = (n: number) => String(n).padStart(2, "0");
  const date = `${now.getUTCFullYear()}${pad(now.getUTCMonth() + 1)}${pad(now.getUTCDate())}`;
  const time = `${pad(now.getUTCHours())}${pad(now.getUTCMinutes())}${pad(now.getUTCSeconds())}`;
  return `upload-${date}-${time}-${crypto.randomUUID().slice(0, 8)}.bin`;
};
