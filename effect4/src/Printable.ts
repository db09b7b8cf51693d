/**
 * Showing what a peer sent to a person, safely. A peer's bytes can carry
 * terminal escape sequences (clear the screen, set the window title, write
 * the clipboard), C1 controls, bidi overrides and line breaks that forge log
 * lines; {@link escape} shows each of them as a visible escape instead, and
 * cuts long text. This library's own error messages quote peer values the
 * same way.
 *
 * ```ts
 * import { Printable } from "@fibernet/socket";
 *
 * Printable.escape("hi\x1b[2J"); // "hi\\x1b[2J"
 * ```
 *
 * @module
 */
import { type EscapeOptions, escapeText } from "./core/printable.ts";

/**
 * Options for {@link escape}.
 *
 * @example
 * ```ts
 * import type { Printable } from "@fibernet/socket";
 * const options: Printable.Options = { maxLength: 80, keepNewlines: true };
 * ```
 */
export type Options = EscapeOptions;

/**
 * Peer text or bytes (decoded as UTF-8, invalid sequences shown as U+FFFD)
 * with controls (C0, DEL, C1), bidi controls, U+2028/U+2029 and lone
 * surrogates shown as `\xNN` / `\uNNNN` escapes (`\n`, `\r`, `\t` by name),
 * cut to `maxLength` (default 512) with `…`.
 *
 * @example
 * ```ts
 * import { Printable } from "@fibernet/socket";
 *
 * const datagram = new TextEncoder().encode("evil\u202etxt.exe\n");
 * console.log(`got: ${Printable.escape(datagram)}`); // got: evil\u202etxt.exe\n
 * ```
 */
export const escape = (text: string | Uint8Array, options?: Options): string =>
  escapeText(text, options);
