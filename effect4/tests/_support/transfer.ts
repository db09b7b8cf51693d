// File transfer tests: a receiver on a free port, a sender, raw peers that
// speak the protocol by hand, and checks of a transfer's outcome.
import { Effect, Fiber, Option, Result } from "effect";
import { expect } from "vitest";
import { type Address, type Connection, FileTransfer, Framing, Listener, Tcp } from "../../mod.ts";
import { toHex } from "../../src/core/sha256.ts";
import { concatBytes } from "./bytes.ts";
import { tempDir } from "./paths.ts";

/** The vitest timeout of a transfer test (ms). */
export const TIMEOUT = 30_000;

/** `self`, failing the test if it takes longer than `seconds`. */
export const bounded = <A, E, R>(self: Effect.Effect<A, E, R>, seconds = 20) =>
  Effect.timeoutOrElse(self, {
    duration: `${seconds} seconds`,
    orElse: () => Effect.fail(new Error(`test did not finish within ${seconds} s`)),
  });

export const encoder = new TextEncoder();
export const decoder = new TextDecoder();
/** The control frames of the protocol. */
export const frames = Framing.lengthPrefixed({ maxFrameLength: 64 * 1024 });
/** The hello: "FNFT" and version 1. */
export const HELLO = new Uint8Array([0x46, 0x4e, 0x46, 0x54, 0x01]);

export const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);
export const jsonFrame = (value: unknown): Uint8Array =>
  Result.getOrThrow(frames.encode(JSON.stringify(value)));

/** SHA-256 by Web Crypto, as lowercase hex. */
export const subtleHex = (data: Uint8Array): Promise<string> =>
  crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>).then((d) =>
    toHex(new Uint8Array(d))
  );

export const writeFile = (path: string, data: Uint8Array) =>
  Effect.promise(() => Deno.writeFile(path, data));
export const readFile = (path: string) => Effect.promise(() => Deno.readFile(path));
export const listDir = (dir: string) =>
  Effect.promise(async () => {
    const names: string[] = [];
    for await (const entry of Deno.readDir(dir)) names.push(entry.name);
    return names.sort();
  });

/** A source file in its own temp dir, and an empty target dir. */
export const setup = (content: Uint8Array, name = "data.bin") =>
  Effect.gen(function* () {
    const srcDir = yield* tempDir;
    const dir = yield* tempDir;
    const path = `${srcDir}/${name}`;
    yield* writeFile(path, content);
    return { path, dir };
  });

/** Accepts one connection and runs `receive` on it; `result` waits for the outcome. */
export const receiveOnce = (dir: string, options?: Omit<FileTransfer.ReceiveOptions, "dir">) =>
  Effect.gen(function* () {
    const listener = yield* Tcp.listen("127.0.0.1:0");
    const fiber = yield* Effect.forkChild(
      Effect.scoped(
        Effect.flatMap(
          Listener.acceptScoped(listener),
          (conn) => FileTransfer.receive(conn, { dir, ...options }),
        ),
      ),
    );
    return {
      address: listener.address,
      fiber,
      result: Effect.result(Fiber.join(fiber)),
    };
  });

export const sendTo = (
  address: Address.Address,
  path: string,
  options?: FileTransfer.SendOptions,
) =>
  Effect.result(
    Effect.scoped(
      Effect.flatMap(Tcp.connect(address), (conn) => FileTransfer.send(conn, path, options)),
    ),
  );

/** A raw peer for crafting protocol violations. */
export const rawClient = (address: Address.Address) => Tcp.connect(address);

export const readJsonFrame = (conn: Connection.Connection) =>
  Effect.map(
    frames.readFrame(conn),
    (frame) =>
      Option.map(frame, (bytes) => JSON.parse(decoder.decode(bytes)) as Record<string, unknown>),
  );

/** The transfer failed with `reason` (and a message matching `detail`); returns the error. */
export const expectFailure = (
  result: Result.Result<unknown, unknown>,
  reason: FileTransfer.Reason,
  detail?: RegExp,
): FileTransfer.FileTransferError => {
  if (Result.isSuccess(result)) throw new Error(`expected ${reason}, got success`);
  const error = result.failure;
  expect(error).toBeInstanceOf(FileTransfer.FileTransferError);
  const e = error as FileTransfer.FileTransferError;
  expect(e.reason, e.message).toBe(reason);
  if (detail) expect(e.message).toMatch(detail);
  return e;
};

export const expectSuccess = <A>(result: Result.Result<A, unknown>): A => {
  if (Result.isFailure(result)) {
    throw new Error(
      `expected success, got ${String((result.failure as Error)?.message ?? result.failure)}`,
    );
  }
  return result.success;
};
