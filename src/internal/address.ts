// Resolving an address input that must be host:port (TCP, TLS, UDP), with the
// operation named in the error.
import * as Either from "effect/Either";
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
): Either.Either<Address.TcpAddress, SocketError<"InvalidAddress">> =>
  Either.flatMap(
    Either.mapLeft(
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
      address._tag === "TcpAddress" ? Either.right(address) : Either.left(
        new SocketError({
          reason: "InvalidAddress",
          operation: options.operation,
          address: Address.format(address),
          detail: options.unixDetail,
        }),
      ),
  );
