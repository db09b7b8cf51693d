// The options of a datagram endpoint, their defaults, and the checks that
// turn a bad one into a failure before any socket is opened.
import type { Address } from "../address.ts";
import type { Failure } from "../failure.ts";
import { availableBackends, type Backend, BACKENDS, hasListenDatagram } from "./backend.ts";
import { type Overflow, OVERFLOW_POLICIES, type ReceiveQueueLimits } from "./receive_queue.ts";
import type { UdpBindReason } from "./reasons.ts";

/**
 * Options of a bound datagram endpoint; every one has a default.
 *
 * @example
 * ```ts
 * import type { DatagramEndpointOptions } from "@fibernet/socket/core";
 * const telemetry: DatagramEndpointOptions = { queueCapacity: 64, overflow: "dropOldest" };
 * ```
 */
export interface DatagramEndpointOptions {
  /** `"auto"` (default) picks `Deno.listenDatagram` under `--unstable-net`, else `node:dgram`. */
  readonly backend?: Backend | "auto";
  /** Most datagrams waiting to be received. Default 1024. */
  readonly queueCapacity?: number;
  /**
   * Most payload bytes waiting to be received. Default 4 MiB. A datagram is
   * always accepted into an empty queue, whatever its size.
   */
  readonly queueBytes?: number;
  /** What to discard when the queue is full. Default `"dropNewest"`. */
  readonly overflow?: Overflow;
  /** `SO_REUSEADDR`: let several sockets bind the same address (multicast listeners). */
  readonly reuseAddress?: boolean;
  /** `SO_BROADCAST`: allow sending to broadcast addresses. */
  readonly broadcast?: boolean;
}

/**
 * Options of a datagram endpoint with a default peer.
 *
 * @example
 * ```ts
 * import type { DatagramConnectOptions } from "@fibernet/socket/core";
 * const options: DatagramConnectOptions = { local: "127.0.0.1:5000" };
 * ```
 */
export interface DatagramConnectOptions extends DatagramEndpointOptions {
  /**
   * The local address to bind. Default: port 0 on the loopback address of
   * the peer's IP version when the peer is a loopback address, otherwise on
   * the wildcard address (`0.0.0.0` or `::`).
   */
  readonly local?: Address | string;
}

const DEFAULT_QUEUE_CAPACITY = 1024;
const DEFAULT_QUEUE_BYTES = 4 * 1024 * 1024;

/** The receive queue's bounds the options ask for. */
export const queueLimits = (options: DatagramEndpointOptions | undefined): ReceiveQueueLimits => ({
  capacity: options?.queueCapacity ?? DEFAULT_QUEUE_CAPACITY,
  maxBytes: options?.queueBytes ?? DEFAULT_QUEUE_BYTES,
  overflow: options?.overflow ?? "dropNewest",
});

const invalid = (
  detail: string,
  address: string,
  reason: "InvalidAddress" | "Unsupported" = "InvalidAddress",
): Failure<UdpBindReason> => ({ reason, operation: "bind", address, detail });

const isCount = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 1);

/** The backend to open, or why the options cannot be used; `address` names the endpoint. */
export const chooseBackend = (
  options: DatagramEndpointOptions | undefined,
  address: string,
): Backend | Failure<UdpBindReason> => {
  if (!isCount(options?.queueCapacity)) {
    return invalid(
      `queueCapacity must be a whole number ≥ 1, got ${options?.queueCapacity}`,
      address,
    );
  }
  if (!isCount(options?.queueBytes)) {
    return invalid(`queueBytes must be a whole number ≥ 1, got ${options?.queueBytes}`, address);
  }
  const overflow = options?.overflow;
  if (overflow !== undefined && !(OVERFLOW_POLICIES as ReadonlyArray<string>).includes(overflow)) {
    return invalid(
      `overflow must be ${OVERFLOW_POLICIES.map((p) => `"${p}"`).join(" or ")}, got ${overflow}`,
      address,
    );
  }
  const wanted = options?.backend ?? "auto";
  if (wanted === "auto") return availableBackends()[0];
  if (!(BACKENDS as ReadonlyArray<string>).includes(wanted)) {
    return invalid(`unknown backend ${JSON.stringify(wanted)}`, address);
  }
  if (wanted === "Deno.listenDatagram" && !hasListenDatagram()) {
    return invalid(
      "the Deno.listenDatagram backend needs Deno's --unstable-net flag; without it use node:dgram (the default)",
      address,
      "Unsupported",
    );
  }
  return wanted;
};
