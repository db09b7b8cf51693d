// Sending one file in this library's protocol over a TransferIo: hash it
// (unless the hash is given), announce it, wait for the go-ahead, stream it
// while watching for an early refusal, then wait for the verdict.
import { fileSystemFailure, named, TransferFailure } from "./failure.ts";
import { type Running, running, type TransferIo } from "./io.ts";
import { frame, Link } from "./link.ts";
import { FileChunks, hashOpenFile } from "./outbound.ts";
import {
  formatMs,
  type Limit,
  Pace,
  type PaceLimits,
  type Progress,
  stepLimit,
  underDeadline,
} from "./pace.ts";
import {
  checkVerdict,
  END_PAYLOAD,
  headerPayload,
  isSha256,
  type Json,
  MAGIC,
  remoteFailure,
} from "./wire.ts";

/** How a send runs; the face fills in every default. */
export interface SendSettings {
  /** The name to announce, already checked (see names.ts). */
  readonly name: string;
  /** The file's SHA-256 if known (skips hashing). */
  readonly sha256: string | undefined;
  readonly timeoutMs: number;
  readonly pace: PaceLimits;
  readonly deadlineMs: number;
  readonly onProgress: ((progress: Progress) => void) | undefined;
}

/** What a send confirmed. */
export interface Sent {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly storedAs: string;
}

/** How long a sender whose write failed waits for the receiver's explanation. */
const GRACE_MS = 2000;
const NO_LIMIT: Limit = () => Infinity;
const END_FRAME = frame(END_PAYLOAD);

/** Sends the file at `path` over `io`. */
export const sendFile = (io: TransferIo, path: string, settings: SendSettings): Running<Sent> =>
  running(io, () => send(io, path, settings));

const send = async (io: TransferIo, path: string, settings: SendSettings): Promise<Sent> => {
  const { name, onProgress } = settings;
  const deadlineEnd = performance.now() + settings.deadlineMs;
  const step = (): Limit =>
    underDeadline(stepLimit(settings.timeoutMs), deadlineEnd, settings.deadlineMs);
  const link = new Link(io);
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (error) {
    throw fileSystemFailure(error, `opening ${path}`, name);
  }
  try {
    const info = await file.stat().catch((error) => {
      throw fileSystemFailure(error, `reading the size of ${path}`, name);
    });
    if (!info.isFile) throw new TransferFailure("FileSystem", `${path} is not a regular file`);
    const size = info.size;
    let sha256: string;
    if (settings.sha256 !== undefined) {
      if (!isSha256(settings.sha256)) {
        throw new TransferFailure("ProtocolError", "the sha256 option must be 64 hex digits");
      }
      sha256 = settings.sha256.toLowerCase();
    } else {
      sha256 = await hashOpenFile(file, size, name, onProgress);
    }

    // Hello and header in one write; then wait for the receiver to accept.
    const header = frame(headerPayload(name, size, sha256));
    const hello = new Uint8Array(MAGIC.length + header.length);
    hello.set(MAGIC, 0);
    hello.set(header, MAGIC.length);
    await link.write(hello, "sending the header", step());
    const reply = await link.readJson("waiting for the receiver to accept", step());
    if (reply.ok !== true) throw remoteFailure(reply, name);

    // A receiver that fails mid-way says so at once: read its verdict while
    // sending. Only a failure ends the sending early; a success can only be
    // checked once everything is sent.
    const verdict = link.readJson("waiting for the verdict", NO_LIMIT);
    verdict.catch(() => {}); // heard below, or not at all if sending fails first
    const refused = verdict.then((reply) => {
      if (reply.ok !== true) throw remoteFailure(reply, name);
      return new Promise<never>(() => {});
    });
    refused.catch(() => {});

    const chunks = new FileChunks(file, size, name, "sending");
    const pace = new Pace(settings.pace, size);
    const limit = underDeadline(() => pace.check(), deadlineEnd, settings.deadlineMs);
    onProgress?.({ done: 0, total: size, phase: "send" });
    try {
      for (let chunk = await chunks.next(); chunk !== undefined; chunk = await chunks.next()) {
        await Promise.race([link.write(chunk, "sending data", limit), refused]);
        pace.progress(chunk.length);
        onProgress?.({ done: chunks.done, total: size, phase: "send" });
      }
      await Promise.race([link.write(END_FRAME, "sending the end frame", limit), refused]);
    } catch (error) {
      throw await explain(error, verdict, name);
    }
    const left = deadlineEnd - performance.now();
    const final = await (left < settings.timeoutMs
      ? within(
        verdict,
        left,
        `the transfer took longer than its deadline of ${formatMs(settings.deadlineMs)}`,
      )
      : within(
        verdict,
        settings.timeoutMs,
        `nothing happened for ${formatMs(settings.timeoutMs)}`,
      ));
    const storedAs = checkVerdict(final, { name, size, sha256 });
    if (storedAs instanceof TransferFailure) {
      throw storedAs;
    }
    return { name, size, sha256, storedAs };
  } catch (error) {
    io.abort(); // a verdict still being read stops here
    throw error instanceof TransferFailure ? named(error, name) : error;
  } finally {
    file.close();
  }
};

/**
 * When a write failed because the receiver gave up, its verdict (if it
 * comes soon) says why; a local failure needs no explanation.
 */
const explain = async (error: unknown, verdict: Promise<Json>, name: string): Promise<unknown> => {
  if (!(error instanceof TransferFailure)) return error;
  if (error.reason !== "Disconnected" && error.reason !== "Connection") return error;
  const reply = await within(verdict, GRACE_MS, "no explanation").catch(() => undefined);
  return reply !== undefined && reply.ok !== true ? remoteFailure(reply, name) : error;
};

/** `verdict`, or TimedOut after `ms` (`why` says which limit ended the wait). */
const within = (verdict: Promise<Json>, ms: number, why: string): Promise<Json> => {
  if (!Number.isFinite(ms)) return verdict;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TransferFailure("TimedOut", `${why} while waiting for the verdict`)),
      Math.max(0, ms),
    );
  });
  return Promise.race([verdict, timeout]).finally(() => clearTimeout(timer));
};
