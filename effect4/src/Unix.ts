/**
 * Unix domain stream sockets (Python's `AF_UNIX` + `SOCK_STREAM`): `connect`
 * and `listen` on a filesystem path, each a scoped resource.
 *
 * A listener removes its socket file when it closes. A file left behind by a
 * crashed process is refused with `AddressInUse` unless `replaceStale: true`
 * is given, and a file that is not a socket is never deleted.
 *
 * ```ts
 * import { Effect } from "effect";
 * import { Unix } from "@fibernet/socket";
 *
 * const program = Unix.connect("/tmp/app.sock").pipe(
 *   Effect.flatMap((conn) => conn.write("hello")),
 *   Effect.scoped,
 * );
 * ```
 *
 * @module
 */
import type * as Duration from "effect/Duration";
import * as Effect from "effect/Effect";
import * as Result from "effect/Result";
import * as Layer from "effect/Layer";
import type * as Scope from "effect/Scope";
import * as Address from "./Address.ts";
import type * as Connection from "./Connection.ts";
import * as Listener from "./Listener.ts";
import { type ConnectReason, fromUnknown, type ListenReason, SocketError } from "./SocketError.ts";
import { connectWith, scopedConnection } from "./internal/open.ts";
import { listenReasons } from "./internal/reasons.ts";

/**
 * A socket path: `"/tmp/x.sock"`, `"unix:/tmp/x.sock"` or a `UnixAddress`.
 *
 * @example
 * ```ts
 * import type { Unix } from "@fibernet/socket";
 * const path: Unix.PathInput = "unix:/tmp/x.sock";
 * ```
 */
export type PathInput = string | Address.UnixAddress;

const unixAddress = (
  input: PathInput,
  operation: "connect" | "listen",
): Result.Result<Address.UnixAddress, SocketError<"InvalidAddress">> => {
  const address = typeof input === "string"
    ? Address.unix(input.startsWith("unix:") ? input.slice(5) : input)
    : input;
  return Result.mapError(
    Address.validate(address),
    (error) => new SocketError({ ...fieldsOf(error), operation }),
  );
};

const fieldsOf = (error: SocketError<"InvalidAddress">) => ({
  reason: error.reason,
  address: error.address,
  detail: error.detail,
});

/**
 * Options for {@link connect}.
 *
 * @example
 * ```ts
 * import type { Unix } from "@fibernet/socket";
 * const options: Unix.ConnectOptions = { timeout: "1 second" };
 * ```
 */
export interface ConnectOptions {
  /** Give up (with `TimedOut`) after this long. */
  readonly timeout?: Duration.Input;
}

/**
 * Connects to a Unix socket, closed when the scope closes. A missing path
 * fails with `NotFound`; a stale file nobody listens on with `ConnectionRefused`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Unix } from "@fibernet/socket";
 * const program = Effect.scoped(Unix.connect("/run/app.sock"));
 * ```
 */
export const connect = (
  path: PathInput,
  options?: ConnectOptions,
): Effect.Effect<Connection.Connection, SocketError<ConnectReason>, Scope.Scope> =>
  Effect.flatMap(Effect.fromResult(unixAddress(path, "connect")), (address) =>
    scopedConnection(
      connectWith(
        Address.format(address),
        (signal) =>
          Deno.connect(
            { transport: "unix", path: address.path, signal } as
              & Deno.UnixConnectOptions
              & { signal: AbortSignal },
          ),
        options?.timeout,
      ),
    ));

/**
 * Options for {@link listen}.
 *
 * @example
 * ```ts
 * import type { Unix } from "@fibernet/socket";
 * const options: Unix.ListenOptions = { replaceStale: true };
 * ```
 */
export interface ListenOptions {
  /**
   * When the path holds a socket file that nobody listens on (left by a
   * crash), delete it and bind. Default false: fail with `AddressInUse`.
   * A live socket or a file that is not a socket is never replaced.
   */
  readonly replaceStale?: boolean;
}

/**
 * Binds and listens on a Unix socket path, closed (and its file removed) when
 * the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Unix } from "@fibernet/socket";
 * const program = Effect.scoped(Unix.listen("/tmp/app.sock", { replaceStale: true }));
 * ```
 */
export const listen = (
  path: PathInput,
  options?: ListenOptions,
): Effect.Effect<Listener.Listener, SocketError<ListenReason>, Scope.Scope> =>
  Effect.flatMap(Effect.fromResult(unixAddress(path, "listen")), (address) => {
    const label = Address.format(address);
    const bind = Effect.try({
      try: () => Deno.listen({ transport: "unix", path: address.path }),
      catch: (error) => fromUnknown(error, "listen", label, listenReasons),
    });
    const bindOrRecover = Effect.catchIf(
      bind,
      (error) => error.reason === "AddressInUse",
      (error) =>
        Effect.flatMap(
          inspectExisting(address.path, label, error),
          (stale) =>
            stale && options?.replaceStale
              ? Effect.andThen(removeStale(address.path, label), bind)
              : Effect.fail(
                new SocketError({
                  reason: "AddressInUse",
                  operation: "listen",
                  address: label,
                  detail: stale
                    ? "a stale socket file is in the way (nobody listens on it); remove it or pass replaceStale: true"
                    : "another process is listening on this socket",
                  cause: error.cause,
                }),
              ),
        ),
    );
    return Effect.acquireRelease(
      Effect.map(bindOrRecover, (raw) => ({
        listener: Listener.fromDeno(raw),
        file: socketFileId(address.path),
      })),
      ({ file, listener }) =>
        Effect.andThen(listener.close, Effect.sync(() => removeOwnFile(address.path, file))),
    ).pipe(Effect.map(({ listener }) => listener));
  });

/** Identifies the socket file a listener bound, so only that file is ever removed. */
const socketFileId = (path: string): number | null | undefined => {
  try {
    return Deno.lstatSync(path).ino;
  } catch {
    return undefined;
  }
};

/**
 * Deno removes a unix listener's file asynchronously after `close()`, too
 * late when the program exits right after (the next start would find it in
 * the way): remove it now, if it is still the file this listener bound.
 */
const removeOwnFile = (path: string, file: number | null | undefined): void => {
  if (file === undefined || file === null) return;
  try {
    const info = Deno.lstatSync(path);
    if (info.isSocket && info.ino === file) Deno.removeSync(path);
  } catch {
    // Gone already, or not ours to touch.
  }
};

/**
 * Decides whether the file in the way is a stale socket (true), a live one
 * (false), or not a socket at all (a failure: it is never touched).
 */
const inspectExisting = (
  path: string,
  label: string,
  original: SocketError<ListenReason>,
): Effect.Effect<boolean, SocketError<ListenReason>> =>
  Effect.tryPromise({
    try: async () => {
      const info = await Deno.lstat(path);
      if (!info.isSocket) return "not-a-socket" as const;
      try {
        const probe = await Deno.connect({ transport: "unix", path });
        probe.close();
        return false;
      } catch (error) {
        if (error instanceof Deno.errors.ConnectionRefused) return true;
        throw error;
      }
    },
    catch: (error) => fromUnknown(error, "listen", label, listenReasons),
  }).pipe(
    Effect.flatMap((verdict) =>
      verdict === "not-a-socket"
        ? Effect.fail(
          new SocketError({
            reason: "AddressInUse",
            operation: "listen",
            address: label,
            detail: "a file that is not a socket exists at this path; it is left untouched",
            cause: original.cause,
          }),
        )
        : Effect.succeed(verdict)
    ),
  );

const removeStale = (path: string, label: string): Effect.Effect<void, SocketError<ListenReason>> =>
  Effect.tryPromise({
    try: () => Deno.remove(path),
    catch: (error) => fromUnknown(error, "listen", label, listenReasons),
  });

/**
 * A Layer providing a Unix {@link Listener.Listener}, for `Server.serveForever`.
 *
 * @example
 * ```ts
 * import { Unix } from "@fibernet/socket";
 * const ListenerLive = Unix.layer("/tmp/app.sock", { replaceStale: true });
 * ```
 */
export const layer = (
  path: PathInput,
  options?: ListenOptions,
): Layer.Layer<Listener.Listener, SocketError<ListenReason>> =>
  Layer.effect(Listener.Listener, listen(path, options));
