/**
 * Socket addresses: IP (host name or IP literal plus port, for TCP, TLS and
 * UDP) and Unix (a filesystem path), with parsing from and formatting to the usual text forms
 * `"127.0.0.1:8080"`, `"[::1]:8080"`, `"localhost:80"` and `"unix:/tmp/x.sock"`.
 *
 * Parsing without running an Effect gives a `Result` (Effect 4's `Either`).
 *
 * ```ts
 * import { Effect } from "effect";
 * import { Address } from "@fibernet/socket";
 *
 * const address = Effect.runSync(Address.parse("[::1]:8080"));
 * Address.format(address); // "[::1]:8080"
 * ```
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Result from "effect/Result";
import * as core from "./core/address.ts";
import { SocketError } from "./SocketError.ts";

/**
 * An IP endpoint (TCP, TLS or UDP): a host name or IP literal and a port.
 * Its tag is `"TcpAddress"`, the name Effect's platform gave this shape.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * const a: Address.InetAddress = Address.inet("127.0.0.1", 8080);
 * ```
 */
export type InetAddress = core.InetAddress;

/**
 * A Unix domain socket endpoint.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * const a: Address.UnixAddress = Address.unix("/tmp/app.sock");
 * ```
 */
export type UnixAddress = core.UnixAddress;

/**
 * Any socket address.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * const all: Address.Address[] = [Address.inet("::1", 80), Address.unix("/tmp/s")];
 * ```
 */
export type Address = core.Address;

/**
 * What the functions taking an address accept: an {@link Address} or its text
 * form.
 *
 * @example
 * ```ts
 * import type { Address } from "@fibernet/socket";
 * const input: Address.Input = "localhost:8080";
 * ```
 */
export type Input = Address | string;

/**
 * Builds an IP address (not validated: {@link validate} or {@link parse} do that).
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.inet("localhost", 80);
 * ```
 */
export const inet = (hostname: string, port: number): InetAddress => core.inet(hostname, port);

/**
 * Builds a Unix socket address.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.unix("/run/app.sock");
 * ```
 */
export const unix = (path: string): UnixAddress => core.unix(path);

/**
 * Formats an address back to text: `host:port`, `[v6]:port` or `unix:/path`.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.format(Address.inet("::1", 80)); // "[::1]:80"
 * ```
 */
export const format = (address: Address): string => core.format(address);

/**
 * Options for {@link parse} and {@link validate}.
 *
 * @example
 * ```ts
 * import type { Address } from "@fibernet/socket";
 * const forListen: Address.ParseOptions = { allowPortZero: true };
 * ```
 */
export type ParseOptions = core.ParseOptions;

const toResult = <A extends Address>(
  result: A | core.InvalidAddress,
): Result.Result<A, SocketError<"InvalidAddress">> =>
  result instanceof core.InvalidAddress
    ? Result.fail(
      new SocketError({
        reason: "InvalidAddress",
        operation: "parse",
        address: result.address,
        detail: result.detail,
      }),
    )
    : Result.succeed(result);

/**
 * Checks an address, returning it unchanged or an `InvalidAddress` error that
 * says what is wrong.
 *
 * @example
 * ```ts
 * import { Result } from "effect";
 * import { Address } from "@fibernet/socket";
 * Result.isFailure(Address.validate(Address.inet("", 80))); // true
 * ```
 */
export const validate = <A extends Address>(
  address: A,
  options?: ParseOptions,
): Result.Result<A, SocketError<"InvalidAddress">> => toResult(core.validate(address, options));

/**
 * Parses the text form of an address without running an Effect.
 *
 * @example
 * ```ts
 * import { Result } from "effect";
 * import { Address } from "@fibernet/socket";
 * const parsed = Address.parseResult("unix:/tmp/x.sock");
 * if (Result.isSuccess(parsed)) console.log(Address.format(parsed.success));
 * ```
 */
export const parseResult = (
  input: string,
  options?: ParseOptions,
): Result.Result<Address, SocketError<"InvalidAddress">> => toResult(core.parse(input, options));

/**
 * Parses `"host:port"`, `"[v6]:port"` or `"unix:/path"`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { Address } from "@fibernet/socket";
 * const program = Address.parse("127.0.0.1:8080").pipe(Effect.map(Address.format));
 * ```
 */
export const parse = (
  input: string,
  options?: ParseOptions,
): Effect.Effect<Address, SocketError<"InvalidAddress">> =>
  Effect.fromResult(parseResult(input, options));

/**
 * Resolves an {@link Input} to a validated {@link Address}.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.fromInput("localhost:80");
 * ```
 */
export const fromInput = (
  input: Input,
  options?: ParseOptions,
): Result.Result<Address, SocketError<"InvalidAddress">> => toResult(core.resolve(input, options));

/**
 * Converts one of Deno's `Deno.Addr` values.
 *
 * @example
 * ```ts
 * import { Address } from "@fibernet/socket";
 * Address.fromDeno({ transport: "tcp", hostname: "127.0.0.1", port: 80 });
 * ```
 */
export const fromDeno = (addr: Deno.Addr): Address => core.fromDeno(addr);
