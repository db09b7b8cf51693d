// A failed transfer as plain data (what the Effect face turns into its
// tagged `FileTransferError`), its one-line message, and the helpers that
// quote what a peer sent.
import { escapeText } from "../printable.ts";
import { TRANSFER_REASON_TEXT, type TransferReason } from "./reasons.ts";

/** Where a failure came from, besides its reason and detail. */
export interface FailureExtra {
  /** The peer detected it and reported it in its reply or verdict. */
  readonly remote?: boolean | undefined;
  /** The file name involved (as the peer or the caller gave it). */
  readonly name?: string | undefined;
  /** The underlying error (a Deno file error, a socket error). */
  readonly cause?: unknown;
}

/** A failed step of a transfer: thrown (or returned) by the core, mapped by the face. */
export class TransferFailure<R extends TransferReason = TransferReason> {
  /** `detail` is a sentence; peer text in it must already be quoted with {@link quote}. */
  constructor(
    readonly reason: R,
    readonly detail: string,
    readonly extra: FailureExtra = {},
  ) {}
}

/** A file name shown in a message: escaped, capped, in quotes. */
export const quoteName = (name: string): string => `"${escapeText(name, { maxLength: 96 })}"`;

/**
 * A value a peer sent (parsed JSON), shown in a message: as JSON, then
 * escaped (controls, bidi, separators) and cut to `maxLength`.
 */
export const quote = (value: unknown, maxLength = 80): string =>
  escapeText(String(JSON.stringify(value)), { maxLength });

/**
 * One line: reason, file name, detail, and who noticed. Escaped and capped
 * as a whole, whatever the detail quotes.
 */
export const transferMessage = (
  reason: TransferReason,
  detail: string,
  name: string | undefined,
  remote: boolean | undefined,
): string => {
  const file = name === undefined ? "" : ` (${quoteName(name)})`;
  const by = remote ? " [reported by the peer]" : "";
  return escapeText(`${TRANSFER_REASON_TEXT[reason]}${file}: ${detail}${by}`, {
    maxLength: 1024,
  });
};

/** The message of a thrown value, for a detail. */
export const errorText = (cause: unknown): string =>
  cause instanceof Error ? cause.message : String(cause);

/** A failed local file operation. */
export const fileSystemFailure = (
  cause: unknown,
  doing: string,
  name?: string,
): TransferFailure<"FileSystem"> =>
  new TransferFailure("FileSystem", `${doing}: ${errorText(cause)}`, { cause, name });

/** `failure` with `name` filled in, when it had none. */
export const named = <R extends TransferReason>(
  failure: TransferFailure<R>,
  name: string | undefined,
): TransferFailure<R> =>
  failure.extra.name !== undefined || name === undefined
    ? failure
    : new TransferFailure(failure.reason, failure.detail, { ...failure.extra, name });

/**
 * What a socket failure means to a transfer, from its reason (as in
 * core/reasons.ts) and message, while `doing` something.
 */
export const socketFailure = (
  reason: string,
  message: string,
  detail: string | undefined,
  doing: string,
  cause: unknown,
): TransferFailure => {
  switch (reason) {
    case "UnexpectedEof":
    case "ConnectionReset":
    case "BrokenPipe":
      return new TransferFailure("Disconnected", `the peer disconnected while ${doing}`, { cause });
    case "InvalidData":
      return new TransferFailure("ProtocolError", `${detail ?? "invalid data"} while ${doing}`, {
        cause,
      });
    case "TimedOut":
      return new TransferFailure("TimedOut", `timed out while ${doing}`, { cause });
    default:
      return new TransferFailure("Connection", `${message} while ${doing}`, { cause });
  }
};
