// Text a peer controls, made safe to show on a terminal or in a log line.
//
// A peer's bytes can hold ESC sequences (clear the screen, set the window
// title, write the clipboard with OSC 52), C1 controls that some terminals
// obey as ESC sequences, bidi overrides that make text read differently from
// what it is, and line breaks that forge whole log lines. Each of those is
// shown as a visible escape (`\x1b`, `\u202e`, `\n`) instead.

/** Options for {@link escapeText}. */
export interface EscapeOptions {
  /** Longest result in UTF-16 code units before `…` cuts it. Default 512. */
  readonly maxLength?: number;
  /** Keep `\n` (and `\t`) as they are, for multi-line text. Default false. */
  readonly keepNewlines?: boolean;
}

const DEFAULT_MAX = 512;
const decoder = new TextDecoder("utf-8", { fatal: false });

/** True for code points shown escaped: C0, DEL, C1, bidi controls, line/paragraph separators. */
export const isUnsafeCodePoint = (cp: number): boolean =>
  cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp === 0x061c || cp === 0x200e ||
  cp === 0x200f || (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) ||
  cp === 0x2028 || cp === 0x2029 || (cp >= 0xd800 && cp <= 0xdfff);

const hex = (cp: number, width: number): string => cp.toString(16).padStart(width, "0");

const escapeOne = (cp: number): string => {
  switch (cp) {
    case 0x0a:
      return "\\n";
    case 0x0d:
      return "\\r";
    case 0x09:
      return "\\t";
  }
  return cp <= 0xff ? `\\x${hex(cp, 2)}` : `\\u${hex(cp, 4)}`;
};

/**
 * `text` (or bytes, decoded as UTF-8 with invalid sequences as U+FFFD) with
 * every control, bidi override and lone surrogate shown as an escape, and
 * cut to `maxLength` with `…`.
 */
export const escapeText = (text: string | Uint8Array, options?: EscapeOptions): string => {
  const input = typeof text === "string" ? text : decoder.decode(text);
  const max = options?.maxLength ?? DEFAULT_MAX;
  const keepNewlines = options?.keepNewlines ?? false;
  let out = "";
  for (let i = 0; i < input.length; i++) {
    if (out.length >= max) return `${out.slice(0, Math.max(0, max - 1))}…`;
    const cp = input.charCodeAt(i);
    // A well-formed surrogate pair is one code point; a lone half is escaped.
    if (cp >= 0xd800 && cp <= 0xdbff && i + 1 < input.length) {
      const low = input.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        out += input[i] + input[i + 1];
        i++;
        continue;
      }
    }
    if (keepNewlines && (cp === 0x0a || cp === 0x09)) {
      out += input[i];
      continue;
    }
    if (isUnsafeCodePoint(cp)) {
      out += escapeOne(cp);
      continue;
    }
    out += input[i];
  }
  return out.length > max ? `${out.slice(0, Math.max(0, max - 1))}…` : out;
};
