// Why a frame could not be decoded or encoded, as plain data: the Effect
// faces turn it into their SocketError (same fields), a callback user reads
// `message`.
import { failureMessage } from "../failure.ts";

/**
 * A frame the codec refuses (`InvalidData`: too long, a negative length, a
 * payload containing the delimiter) or a stream that ended inside a frame
 * (`UnexpectedEof`). A decoder that returned one stays failed.
 *
 * @example
 * ```ts
 * import { FrameError, LengthPrefixedCodec } from "@fibernet/socket/core";
 *
 * const decoder = new LengthPrefixedCodec({ maxFrameLength: 16 }).decoder();
 * decoder.push(new Uint8Array([0, 0, 0, 17]));
 * const result = decoder.next();
 * if (result instanceof FrameError) console.log(result.reason, result.message);
 * ```
 */
export class FrameError {
  /** `reason`: what went wrong; `operation`: decoding ("read") or encoding ("write"). */
  constructor(
    readonly reason: "InvalidData" | "UnexpectedEof",
    readonly operation: "read" | "write",
    readonly detail: string,
  ) {}

  /** One line, as a SocketError with these fields would say it. */
  get message(): string {
    return failureMessage(this);
  }
}

/** A decoding failure: the peer sent a frame the codec forbids. */
export const invalidFrame = (detail: string): FrameError =>
  new FrameError("InvalidData", "read", detail);

/** An encoding failure: the frame cannot be represented. */
export const unencodable = (detail: string): FrameError =>
  new FrameError("InvalidData", "write", detail);

/** The stream ended inside a frame. */
export const truncatedFrame = (detail: string): FrameError =>
  new FrameError("UnexpectedEof", "read", detail);
