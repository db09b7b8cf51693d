import { describe, expect, it } from "@effect/vitest";
import { Effect, Fiber, Option } from "effect";
import { Address, Listener, Unix } from "../mod.ts";
import { text } from "./_support/bytes.ts";
import { tempDir } from "./_support/paths.ts";
import { python } from "./_support/process.ts";
import { needs } from "./_support/needs.ts";

/** Leaves a socket file nobody listens on, as a crashed process would. */
const staleSocket = (path: string) =>
  Effect.promise(() =>
    python(`import socket; s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(path)})`)
  );

describe("Unix", () => {
  it.live("connects, echoes, half-closes, and removes its file on close", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir;
      const path = `${dir}/echo.sock`;
      yield* Effect.scoped(
        Effect.gen(function* () {
          const listener = yield* Unix.listen(path);
          expect(listener.address).toEqual(Address.unix(path));
          const accept = yield* Effect.forkChild(Listener.acceptScoped(listener));
          const client = yield* Unix.connect(`unix:${path}`);
          const server = yield* Fiber.join(accept);
          yield* client.write("over unix");
          yield* client.closeWrite;
          expect(text(yield* server.readExactly(9))).toBe("over unix");
          expect(yield* server.read()).toEqual(Option.none());
          yield* server.write("reply");
          yield* server.setNoDelay(true); // a no-op on unix sockets
          expect(text(yield* client.readExactly(5))).toBe("reply");
        }),
      );
      const exists = yield* Effect.promise(() => Deno.lstat(path).then(() => true, () => false));
      expect(exists).toBe(false);
    }));

  it.live("connecting to a missing path is NotFound", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir;
      const error = yield* Effect.flip(Unix.connect(`${dir}/missing.sock`));
      expect(error.reason).toBe("NotFound");
    }));

  needs("python3", it.live)(
    "a stale socket file: connect is refused, listen refuses unless replaceStale",
    () =>
      Effect.gen(function* () {
        const dir = yield* tempDir;
        const path = `${dir}/stale.sock`;
        yield* staleSocket(path);
        expect((yield* Effect.flip(Unix.connect(path))).reason).toBe("ConnectionRefused");
        const refused = yield* Effect.flip(Unix.listen(path));
        expect(refused.reason).toBe("AddressInUse");
        expect(refused.message).toContain("stale");
        const listener = yield* Unix.listen(path, { replaceStale: true });
        expect(listener.address).toEqual(Address.unix(path));
      }),
  );

  it.live("a live socket is never replaced", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir;
      const path = `${dir}/live.sock`;
      yield* Unix.listen(path);
      const error = yield* Effect.flip(Unix.listen(path, { replaceStale: true }));
      expect(error.reason).toBe("AddressInUse");
      expect(error.message).toContain("another process is listening");
      // The first listener still works.
      yield* Unix.connect(path);
    }));

  it.live("a regular file in the way is never deleted", () =>
    Effect.gen(function* () {
      const dir = yield* tempDir;
      const path = `${dir}/data.txt`;
      yield* Effect.promise(() => Deno.writeTextFile(path, "precious"));
      const error = yield* Effect.flip(Unix.listen(path, { replaceStale: true }));
      expect(error.reason).toBe("AddressInUse");
      expect(error.message).toContain("not a socket");
      expect(yield* Effect.promise(() => Deno.readTextFile(path))).toBe("precious");
    }));

  it.live("invalid paths are InvalidAddress", () =>
    Effect.gen(function* () {
      expect((yield* Effect.flip(Unix.connect(""))).reason).toBe("InvalidAddress");
      expect((yield* Effect.flip(Unix.listen("/tmp/" + "x".repeat(200)))).reason).toBe(
        "InvalidAddress",
      );
      expect((yield* Effect.flip(Unix.listen("/tmp/a\0b"))).reason).toBe("InvalidAddress");
    }));

  it.live("a directory that cannot hold a socket is a typed error, not a crash", () =>
    Effect.gen(function* () {
      // /proc refuses new entries with ENOENT. (PermissionDenied needs a non-root user.)
      const error = yield* Effect.flip(Unix.listen("/proc/no-socket-here.sock"));
      expect(error._tag).toBe("SocketError");
      expect(error.reason).toBe("NotFound");
    }));
});
