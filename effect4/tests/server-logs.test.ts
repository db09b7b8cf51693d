// What a server operator reads: expected peer behaviour is one line with the
// peer and the reason, at the chosen level, without a stack; only defects
// carry a stack; a shutdown says when it starts draining; a listener closed
// under a running server is reported.
import { describe, expect, it } from "@effect/vitest";
import { Cause, Effect, Logger, Option, References, Schedule } from "effect";
import { Address, Server, Tcp } from "../mod.ts";
import { startServer } from "./_support/net.ts";

interface Entry {
  readonly level: string;
  readonly message: string;
  readonly cause: string;
  readonly peer: unknown;
}

/** A logger that keeps every entry, and an Effect that waits for one matching `p`. */
const capturing = () => {
  const logged: Entry[] = [];
  const logger = Logger.make(({ logLevel, message, cause, fiber }) => {
    logged.push({
      level: logLevel.toUpperCase(),
      message: (Array.isArray(message) ? message : [message]).map(String).join(" "),
      cause: cause.reasons.length === 0 ? "" : Cause.pretty(cause),
      peer: fiber.getRef(References.CurrentLogAnnotations)["peer"],
    });
  });
  const waitFor = (p: (entry: Entry) => boolean) =>
    Effect.suspend(() => {
      const found = logged.find(p);
      return found === undefined ? Effect.fail("not logged yet") : Effect.succeed(found);
    }).pipe(Effect.retry(Schedule.spaced("10 millis")), Effect.timeout("5 seconds"));
  return { logged, waitFor, layer: Logger.layer([logger]) };
};

const oneLine = (entry: Entry) => {
  expect(entry.message).not.toContain("\n");
  expect(entry.cause).toBe("");
  expect(entry.message).not.toMatch(/\bat .+:\d+:\d+/);
};

describe("Server logs", () => {
  it.live("a typed failure is one Info line with the peer and the message, no stack", () => {
    const log = capturing();
    return Effect.gen(function* () {
      const server = yield* startServer((conn) =>
        Effect.flatMap(conn.readText(), () => Effect.fail("broken handler"))
      );
      const conn = yield* Tcp.connect(server.address);
      yield* conn.write(new Uint8Array([0x68, 0x69]));
      expect(yield* conn.read()).toEqual(Option.none());
      const entry = yield* log.waitFor((e) => e.message.startsWith("connection failed"));
      expect(entry.level).toBe("INFO");
      expect(entry.message).toBe("connection failed: broken handler");
      expect(entry.peer).toBe(Address.format(conn.localAddress));
      oneLine(entry);
    }).pipe(Effect.provide(log.layer));
  });

  it.live("invalid UTF-8 from a peer: one line naming the reason, escaped", () => {
    const log = capturing();
    return Effect.gen(function* () {
      const server = yield* startServer((conn) => conn.readText());
      const conn = yield* Tcp.connect(server.address);
      yield* conn.write(new Uint8Array([0xff, 0xfe, 0x1b]));
      const entry = yield* log.waitFor((e) => e.message.startsWith("connection failed"));
      expect(entry.message).toContain("SocketError: read");
      expect(entry.message).toContain("invalid UTF-8");
      oneLine(entry);
    }).pipe(Effect.provide(log.layer));
  });

  it.live("a peer's text inside a failure message is escaped", () => {
    const log = capturing();
    return Effect.gen(function* () {
      const server = yield* startServer((conn) =>
        Effect.flatMap(
          conn.readText(),
          (text) => Effect.fail(new Error(`bad command ${Option.getOrElse(text, () => "")}`)),
        )
      );
      const conn = yield* Tcp.connect(server.address);
      yield* conn.write("x\x1b[2J\nforged line\u202e");
      const entry = yield* log.waitFor((e) => e.message.startsWith("connection failed"));
      expect(entry.message).toBe(
        "connection failed: Error: bad command x\\x1b[2J\\nforged line\\u202e",
      );
      oneLine(entry);
    }).pipe(Effect.provide(log.layer));
  });

  it.live("failureLogLevel chooses the level; None silences typed failures", () => {
    const log = capturing();
    return Effect.gen(function* () {
      const quiet = yield* startServer(() => Effect.fail("quiet"), { failureLogLevel: "None" });
      const loud = yield* startServer(() => Effect.fail("loud"), { failureLogLevel: "Warn" });
      for (const server of [quiet, loud]) {
        const conn = yield* Tcp.connect(server.address);
        expect(yield* conn.read()).toEqual(Option.none());
      }
      const entry = yield* log.waitFor((e) => e.message === "connection failed: loud");
      expect(entry.level).toBe("WARN");
      expect(log.logged.some((e) => e.message.includes("quiet"))).toBe(false);
    }).pipe(Effect.provide(log.layer));
  });

  it.live("a defect is logged at Error with its stack", () => {
    const log = capturing();
    return Effect.gen(function* () {
      const server = yield* startServer(() => Effect.die(new Error("a bug")));
      const conn = yield* Tcp.connect(server.address);
      expect(yield* conn.read()).toEqual(Option.none());
      const entry = yield* log.waitFor((e) => e.level === "ERROR");
      expect(entry.message).toBe("connection handler died");
      expect(entry.cause).toContain("a bug");
      expect(entry.cause).toMatch(/at .+:\d+/);
    }).pipe(Effect.provide(log.layer));
  });

  it.live("a shutdown that waits for connections says so when it starts", () => {
    const log = capturing();
    return Effect.gen(function* () {
      yield* Effect.scoped(Effect.gen(function* () {
        const server = yield* startServer(() => Effect.never, { shutdownTimeout: "100 millis" });
        const conn = yield* Tcp.connect(server.address);
        yield* conn.write("x");
        yield* Effect.sleep("50 millis");
      }));
      const entry = yield* log.waitFor((e) => e.message.includes("draining"));
      expect(entry.message).toBe("shutdown: draining 1 connection(s), up to 100ms");
    }).pipe(Effect.provide(log.layer));
  });

  it.live("a listener closed under a running server is an Error, not silence", () => {
    const log = capturing();
    return Effect.gen(function* () {
      // The easy mistake: Effect.provide closes the listener when make returns.
      const server = yield* Server.make(() => Effect.void).pipe(
        Effect.provide(Tcp.layer("127.0.0.1:0")),
      );
      const entry = yield* log.waitFor((e) => e.level === "ERROR");
      expect(entry.message).toContain(`the listener on ${Address.format(server.address)}`);
      expect(entry.message).toContain("was closed while the server was running");
    }).pipe(Effect.provide(log.layer));
  });
});
