// Effect 4 specifics of running a fiber per connection; every runtime detail
// the Server face relies on lives here (the Effect 3 face has its own file).
//
// - A connection fiber is started with `Effect.runForkWith`, which runs it at
//   once (no scheduler hop, and no `AsyncResource` made for its start), in a
//   Context that already holds its log annotation and its Scope: no Effects
//   run to set and restore them.
// - Its Scope is an Effect 4 Scope, which is lazy already: it allocates
//   nothing until the handler adds a finalizer, and closing an unused one is
//   skipped.
// - Fibers are interrupted with `interruptUnsafe` from callbacks.
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import type * as Fiber from "effect/Fiber";
import * as References from "effect/References";
import * as Scope from "effect/Scope";

/** Runs connection fibers in a captured Context. */
export interface ConnectionForker<R> {
  /** The captured Context (metrics are updated in its registry). */
  readonly context: Context.Context<R>;
  /** Runs any Effect in the server's Context (logs, clean-up). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, R>) => Fiber.Fiber<A, E>;
  /** Runs a handler with `peer` in its log annotations and `scope` as its Scope. */
  readonly fork: <A, E>(
    effect: Effect.Effect<A, E, R | Scope.Scope>,
    peer: string,
    scope: Scope.Scope,
  ) => Fiber.Fiber<A, E>;
}

/**
 * Captures the current Context. Fibers started from it are interruptible
 * even when the server is built in an uninterruptible region (a Layer).
 */
export const connectionForker = <R>(): Effect.Effect<ConnectionForker<R>, never, R> =>
  Effect.map(Effect.context<R>(), (context) => {
    const run = Effect.runForkWith(context);
    const annotations = Context.get(context, References.CurrentLogAnnotations);
    return {
      context,
      run: (effect) => run(effect),
      fork: (effect, peer, scope) =>
        Effect.runForkWith(
          Context.add(
            Context.add(context, References.CurrentLogAnnotations, { ...annotations, peer }),
            Scope.Scope,
            scope,
          ),
        )(effect),
    };
  });

/** Whether a handler added anything to its Scope (an unused one needs no closing). */
export const scopeUsed = (scope: Scope.Scope): boolean => scope.state._tag !== "Empty";
