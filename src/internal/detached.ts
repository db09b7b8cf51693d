// Some Effects this library builds are callback loops wrapped in Effect.async
// (Connection.copy, and forEachChunk with the connection's own write). A fiber
// running one of them only waits for its end. The server starts such an Effect
// by its callbacks instead, so a connection served by it holds no fiber: less
// memory while idle, and no fiber to make and collect per connection.
import type * as Effect from "effect/Effect";
import type * as Exit from "effect/Exit";

/** Hears how the work ended (an object, so the server needs no closure per connection). */
export interface Observer {
  onExit(exit: Exit.Exit<unknown, unknown>): void;
}

/** Work in progress. */
export interface Running {
  /** Stops the work, as interrupting its fiber would; the observer then hears nothing. */
  stop(): void;
}

/** Runs the work of a registered Effect without a fiber. */
export type Start = (observer: Observer) => Running;

// Weak: an Effect that is never run (or run by a fiber) leaves nothing behind.
const starts = new WeakMap<Effect.Effect<unknown, unknown, unknown>, Start>();

/** Marks `effect` as runnable by `start`, which must do exactly what running it does. */
export const detachable = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  start: Start,
): Effect.Effect<A, E, R> => {
  starts.set(effect, start);
  return effect;
};

/** How to run `effect` without a fiber, if it is one of the registered loops. */
export const startOf = (effect: Effect.Effect<unknown, unknown, unknown>): Start | undefined =>
  starts.get(effect);
