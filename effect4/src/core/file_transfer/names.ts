// File names a peer may ask for: one path component that cannot leave the
// target directory, cannot hide what it is when shown (controls, bidi
// overrides, line separators), and is stored in one Unicode form (NFC), so
// that two names that look the same are the same name.
import { TransferFailure } from "./failure.ts";

/** Prefix of the receiver's temporary files; names starting with it are refused. */
export const TEMP_PREFIX = ".fnft-";
/** Longest name, in UTF-8 bytes (the limit of common file systems). */
export const MAX_NAME_BYTES = 255;

const encoder = new TextEncoder();

const hex = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;

/** C0 controls, DEL and C1 controls. */
const isControl = (cp: number): boolean => cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
/** The bidi controls: they reorder how the rest of the name is displayed. */
const isBidiControl = (cp: number): boolean =>
  cp === 0x061c || cp === 0x200e || cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
  (cp >= 0x2066 && cp <= 0x2069);

/** Why a code point is refused in a name, if it is. */
const codePointProblem = (cp: number): string | undefined => {
  if (isControl(cp)) return `the name contains NUL or a control character (${hex(cp)})`;
  if (isBidiControl(cp)) {
    return `the name contains a bidirectional control (${hex(cp)}) that reorders how it is shown`;
  }
  if (cp === 0x2028 || cp === 0x2029) {
    return `the name contains a line or paragraph separator (${hex(cp)})`;
  }
  return undefined;
};

/**
 * The name a file is stored under (`name` in Unicode NFC), or why `name`
 * cannot be one. A name is refused, never repaired: not a string, empty,
 * ill-formed UTF-16 (a lone surrogate), `.` or `..`, a path separator,
 * a control, bidi control or line separator, over 255 UTF-8 bytes (after
 * NFC), the temporary prefix, and on Windows one of `<>:"|?*`.
 */
export const storedName = (name: unknown): string | TransferFailure<"InvalidName"> => {
  const refuse = (detail: string) =>
    new TransferFailure("InvalidName", detail, {
      name: typeof name === "string" ? name : undefined,
    });
  if (typeof name !== "string") return refuse("the name is not a string");
  if (name.length === 0) return refuse("the name is empty");
  if (!name.isWellFormed()) {
    return refuse("the name is ill-formed UTF-16 (it has a lone surrogate)");
  }
  // Every check below is on the stored form: NFC can change the length, and
  // (for a few characters) what the name contains.
  const nfc = name.normalize("NFC");
  if (nfc === "." || nfc === "..") return refuse(`"${nfc}" is not a file name`);
  if (nfc.includes("/") || nfc.includes("\\")) {
    return refuse("the name contains a path separator (only a bare file name is accepted)");
  }
  for (const char of nfc) {
    const problem = codePointProblem(char.codePointAt(0)!);
    if (problem !== undefined) return refuse(problem);
  }
  if (encoder.encode(nfc).length > MAX_NAME_BYTES) {
    return refuse(`the name is longer than ${MAX_NAME_BYTES} bytes`);
  }
  if (nfc.startsWith(TEMP_PREFIX)) {
    return refuse(`names starting with "${TEMP_PREFIX}" are reserved`);
  }
  if (Deno.build.os === "windows" && /[<>:"|?*]/.test(nfc)) {
    return refuse('the name contains one of <>:"|?* (not allowed on Windows)');
  }
  return nfc;
};

/** The last component of a path (either separator). */
export const basename = (path: string): string => {
  const trimmed = path.replace(/[/\\]+$/, "");
  const slash = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  return trimmed.slice(slash + 1);
};

/** `name` inside `dir`. */
export const joinPath = (dir: string, name: string): string =>
  dir.endsWith("/") || dir.endsWith("\\") ? `${dir}${name}` : `${dir}/${name}`;
