// acquireRelease makes the acquisition uninterruptible, which would make a
// pending connect or accept immune to timeouts. This keeps it interruptible:
// the resources acquired here clean up after themselves if interrupted.
import * as Effect from "effect/Effect";
import type * as Scope from "effect/Scope";

/** Like Effect.acquireRelease, but the acquisition can be interrupted. */
export const acquireInterruptible = <A, E, R>(
  acquire: Effect.Effect<A, E, R>,
  release: (a: A) => Effect.Effect<void>,
): Effect.Effect<A, E, R | Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.tap(restore(acquire), (a) => Effect.addFinalizer(() => release(a)))
  );
