// Receiving one file, in either protocol (told apart by the first byte), as
// a sequence of steps over a TransferIo. Every wait for the peer is bounded:
// a step by `timeoutMs`, the data by the pace (no progress for `idleMs`,
// slower than the minimum rate), everything by the deadline. Nothing is
// allocated for the data before it flows: the temporary file and the hasher
// come with the first byte, and the reads borrow the connection's buffer.
import { hasherFactory } from "../sha256.ts";
import { named, TransferFailure } from "./failure.ts";
import { Inbound } from "./inbound.ts";
import { ABORTED, type Running, running, type TransferIo } from "./io.ts";
import { frame, Link } from "./link.ts";
import { storedName } from "./names.ts";
import {
  type Limit,
  Pace,
  type PaceLimits,
  type Progress,
  stepLimit,
  underDeadline,
} from "./pace.ts";
import { exists, PendingFile } from "./store.ts";
import { joinPath } from "./names.ts";
import {
  failurePayload,
  type Json,
  MAGIC,
  OK_PAYLOAD,
  opensTutorial,
  parseHeader,
  parseTutorialSize,
  startsLikeHello,
  TUTORIAL_OK,
  tutorialDone,
  tutorialError,
  verdictPayload,
} from "./wire.ts";

/** How a receive runs; the face fills in every default. */
export interface ReceiveSettings {
  readonly dir: string;
  readonly maxSize: number;
  readonly overwrite: boolean;
  readonly sync: boolean;
  /** Accept the tutorial's protocol too. */
  readonly tutorial: boolean;
  /** Names tutorial uploads; an invalid name is a bug (the run rejects with an Error). */
  readonly tutorialName: () => string;
  readonly tutorialLingerMs: number;
  /** The limit on each step, and on the data going quiet. */
  readonly timeoutMs: number;
  readonly pace: PaceLimits;
  /** The whole receive; Infinity: no deadline. */
  readonly deadlineMs: number;
  readonly onProgress: ((progress: Progress) => void) | undefined;
}

/** What a receive stored. */
export interface Received {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  readonly protocol: "fibernet" | "tutorial";
}

/** How long a failing receiver waits for the peer to hear why and hang up. */
const GRACE_MS = 2000;
const encoder = new TextEncoder();

/** Receives one file over `io` into `settings.dir`. */
export const receiveFile = (io: TransferIo, settings: ReceiveSettings): Running<Received> =>
  running(io, () => new Receive(io, settings).run());

class Receive {
  private readonly link: Link;
  private readonly deadlineEnd: number;
  private protocol: "fibernet" | "tutorial" | undefined = undefined;
  private name: string | undefined = undefined;

  constructor(private readonly io: TransferIo, private readonly settings: ReceiveSettings) {
    this.link = new Link(io);
    this.deadlineEnd = performance.now() + settings.deadlineMs;
  }

  /** A step's limit, from now (and the deadline). */
  private step(ms: number = this.settings.timeoutMs): Limit {
    return underDeadline(stepLimit(ms), this.deadlineEnd, this.settings.deadlineMs);
  }

  async run(): Promise<Received> {
    try {
      return await this.dispatch();
    } catch (error) {
      if (!(error instanceof TransferFailure)) throw error;
      const failure = named(error, this.name);
      await this.tellPeer(failure);
      throw failure;
    }
  }

  private async dispatch(): Promise<Received> {
    const first = await this.link.read(1024, false, "waiting for the sender", this.step());
    if (first === null) {
      throw new TransferFailure(
        "Disconnected",
        "the peer closed the connection before sending anything",
      );
    }
    if (this.settings.tutorial && opensTutorial(first[0])) {
      this.protocol = "tutorial";
      return await this.tutorial(first);
    }
    this.protocol = "fibernet";
    // A peer that does not start with the hello is refused at once, not
    // after waiting for as many bytes as the hello has.
    if (!startsLikeHello(first)) throw badHello();
    this.link.prepend(first);
    return await this.fibernet();
  }

  private async fibernet(): Promise<Received> {
    const magic = await this.link.readExactly(MAGIC.length, "reading the hello", this.step());
    if (!startsLikeHello(magic)) throw badHello();
    const header = parseHeader(
      await this.link.readJson("reading the header", this.step()),
      this.settings.maxSize,
    );
    if (header instanceof TransferFailure) throw header;
    const { name, size } = header;
    this.name = name;
    await this.checkFree(name);
    const file = new PendingFile(this.settings.dir, name);
    let path: string;
    try {
      await this.link.write(frame(OK_PAYLOAD), "accepting", this.step());
      const sha256 = await this.data(file, size, false);
      const end: Json = await this.link.readJson("reading the end frame", this.step()).catch(
        (error) => {
          // Data where the end frame belongs: more bytes than announced.
          if (error instanceof TransferFailure && error.reason === "ProtocolError") return {};
          throw error;
        },
      );
      if (end.done !== true) {
        throw new TransferFailure(
          "SizeMismatch",
          `the sender sent more than the ${size} bytes it announced`,
        );
      }
      if (sha256 !== header.sha256) {
        throw new TransferFailure(
          "ChecksumMismatch",
          `the sender announced sha256 ${header.sha256} but the bytes received hash to ${sha256}`,
        );
      }
      path = await file.commit(this.settings);
      // The file is stored whether or not the sender hears the verdict.
      await this.link.write(frame(verdictPayload(name, size, sha256)), "answering", this.step())
        .catch(ignoreFailure);
      return { name, path, size, sha256, protocol: "fibernet" };
    } finally {
      await file.discard();
    }
  }

  private async tutorial(first: Uint8Array): Promise<Received> {
    // The client sent the size and now waits for an answer, so the whole
    // size is in this first read (as with the tutorial's recv(1024)).
    const size = parseTutorialSize(first, this.settings.maxSize);
    if (size instanceof TransferFailure) throw size;
    const name = storedName(this.settings.tutorialName());
    if (name instanceof TransferFailure) {
      throw new Error(`tutorialName returned an invalid name: ${name.detail}`);
    }
    this.name = name;
    await this.checkFree(name);
    const file = new PendingFile(this.settings.dir, name);
    try {
      await this.link.write(encoder.encode(TUTORIAL_OK), "acknowledging the size", this.step());
      const sha256 = await this.data(file, size, true);
      // The tutorial's client closes right after the last byte: anything
      // else arriving in the meantime means the size was a lie.
      const after = await this.link.read(
        1,
        true,
        "waiting for the client to close",
        this.step(this.settings.tutorialLingerMs),
      ).catch(ignoreFailure);
      if (after !== null && after !== undefined) {
        throw new TransferFailure(
          "SizeMismatch",
          `the client sent more than the ${size} bytes it announced`,
        );
      }
      const path = await file.commit(this.settings);
      // The client may be gone.
      await this.link.write(encoder.encode(tutorialDone(sha256)), "answering", this.step())
        .catch(ignoreFailure);
      return { name, path, size, sha256, protocol: "tutorial" };
    } finally {
      await file.discard();
    }
  }

  /** Receives the `size` announced bytes into `file`; returns their SHA-256. */
  private async data(file: PendingFile, size: number, strict: boolean): Promise<string> {
    const makeHasher = await hasherFactory();
    const pace = new Pace(this.settings.pace, size);
    const limit = underDeadline(() => pace.check(), this.deadlineEnd, this.settings.deadlineMs);
    const { onProgress } = this.settings;
    const inbound = new Inbound({ size, strict, file, makeHasher, pace, onProgress });
    inbound.begin();
    try {
      while (!inbound.complete) {
        const want = inbound.want;
        const chunk = await this.link.read(want, true, "receiving data", limit);
        if (chunk === null) throw inbound.ended();
        const taken = inbound.accept(chunk, want);
        if (taken instanceof TransferFailure) throw taken;
        if (taken !== undefined) await taken;
      }
      await inbound.finish();
    } catch (error) {
      inbound.discard();
      throw error;
    }
    return inbound.sha256();
  }

  /** Refuses a name that is taken, unless overwriting. */
  private async checkFree(name: string): Promise<void> {
    if (this.settings.overwrite) return;
    if (await exists(joinPath(this.settings.dir, name), name)) {
      throw new TransferFailure("AlreadyExists", `${name} already exists in the target directory`);
    }
  }

  /**
   * Tells the peer why the transfer failed, if it can still hear it, then
   * lets it hang up first: reading what it still sends until it closes
   * avoids resetting the connection, which could destroy the answer before
   * the peer reads it. Bounded by its own grace, even past the deadline.
   */
  private async tellPeer(failure: TransferFailure): Promise<void> {
    if (this.protocol === undefined) return;
    if (failure.reason === "Disconnected" || failure.reason === "Connection") return;
    const answer = this.protocol === "tutorial"
      ? encoder.encode(tutorialError(failure.reason, failure.detail))
      : frame(failurePayload(failure.reason, failure.detail));
    const grace = stepLimit(GRACE_MS);
    try {
      await this.link.write(answer, "answering", grace);
      await this.io.closeWrite();
      while (await this.link.read(64 * 1024, true, "answering", grace) !== null) {
        // what the peer still sends is dropped
      }
    } catch (error) {
      if (error === ABORTED) throw error;
      // The peer is gone or does not listen: it was told as well as it can be.
    }
  }
}

const badHello = () =>
  new TransferFailure("ProtocolError", "the peer does not speak this protocol (bad hello)");

/** For answers whose failure changes nothing (the peer may be gone). */
const ignoreFailure = (error: unknown): undefined => {
  if (error instanceof TransferFailure) return undefined;
  throw error;
};
