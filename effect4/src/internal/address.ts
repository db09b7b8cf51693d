// Resolving an address input that must be host:port (TCP, TLS, UDP), with the
// operation named in the error.
import * as Result from "effect/Result";
import * as Address from "../Address.ts";
import { type Operation, SocketError } from "../SocketError.ts";

/** Parses and validates `input`, refusing unix: paths with `unixDetail`. */
export const hostPort = (
  input: Address.Input,
  options: {
    readonly allowPortZero: boolean;
    readonly operation: Operation;
    readonly unixDetail: string;
  },
): Result.Result<Address.InetAddress, SocketError<"InvalidAddress">> =>
  Result.flatMap(
    Result.mapError(
      Address.fromInput(input, { allowPortZero: options.allowPortZero }),
      (error) =>
        new SocketError({
          reason: "InvalidAddress",
          operation: options.operation,
          address: error.address,
          detail: error.detail,
        }),
    ),
    (address) =>
      address._tag === "TcpAddress" ? Result.succeed(address) : Result.fail(
        new SocketError({
          reason: "InvalidAddress",
          operation: options.operation,
          address: Address.format(address),
          detail: options.unixDetail,
        }),
      ),
  );
