// Building a Layer again after it failed or died, each attempt in a scope of
// its own that is closed when the attempt fails, so nothing a failed attempt
// acquired outlives it. (Layer.retry retries failures only; a defect ends it.)
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Layer from "effect/Layer";
import type * as Schedule from "effect/Schedule";
import * as Scope from "effect/Scope";

/** `layer`, built again on failure or defect, up to `times` more times, `spacing` apart. */
export const retryLayer = <A, E, R>(
  layer: Layer.Layer<A, E, R>,
  times: number,
  spacing: Schedule.Schedule<unknown>,
): Layer.Layer<A, E, R> =>
  Layer.effectContext(Effect.flatMap(Effect.scope, (outer) => {
    const attempt = Effect.flatMap(
      Scope.fork(outer, "sequential"),
      (scope) =>
        Layer.buildWithScope(layer, scope).pipe(
          Effect.onError((cause) => Scope.close(scope, Exit.failCause(cause))),
        ),
    );
    return attempt.pipe(
      Effect.sandbox,
      Effect.retry({ schedule: spacing, times }),
      Effect.catch((cause) => Effect.failCause(cause)),
    );
  }));
