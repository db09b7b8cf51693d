// Spans for socket operations, following Effect's `withSpan` conventions and
// OpenTelemetry's attribute names. A child span is only made inside a traced
// parent (a server with `tracing: true`, a `withSpan` of the program's own),
// so untraced code pays nothing.
import * as Effect from "effect/Effect";
import * as Tracer from "effect/Tracer";
import type * as Address from "../Address.ts";

/** OpenTelemetry's attributes for the far end of a connection. */
export const peerAttributes = (
  prefix: "network.peer" | "server",
  address: Address.Address,
): Record<string, unknown> =>
  address._tag === "UnixAddress"
    ? { [`${prefix}.address`]: address.path, "network.transport": "unix" }
    : {
      [`${prefix}.address`]: address.hostname,
      [`${prefix}.port`]: address.port,
      "network.transport": "tcp",
    };

/** `effect` in a span named `name`, only when it runs inside a traced parent. */
export const childSpan = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  name: string,
  attributes: Record<string, unknown>,
): Effect.Effect<A, E, R> =>
  Effect.flatMap(
    Effect.serviceOption(Tracer.ParentSpan),
    (parent) =>
      parent._tag === "Some"
        ? Effect.withSpan(effect, name, { attributes, captureStackTrace: false })
        : effect,
  );

/** Adds an event to the current span, if there is one (nothing otherwise). */
export const spanEvent = (name: string, attributes: Record<string, unknown>): Effect.Effect<void> =>
  Effect.flatMap(
    Effect.serviceOption(Tracer.ParentSpan),
    (parent) =>
      parent._tag === "Some" && parent.value._tag === "Span"
        ? Effect.sync(() =>
          (parent.value as Tracer.Span).event(name, BigInt(Date.now()) * 1_000_000n, attributes)
        )
        : Effect.void,
  );
