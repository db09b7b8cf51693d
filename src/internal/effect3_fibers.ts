// Effect 3 specifics that make a fiber per connection cheaper; every trick
// that reaches into Effect 3's runtime lives here, so the Effect 4 face can
// see what it has to do differently.
//
// - One scheduler task queue for all connection fibers (the default
//   scheduler keeps a queue per fiber in a WeakMap), and a fiber resumed from
//   an I/O callback runs at once rather than a microtask later.
// - A Scope that is only made if the handler uses it.
// - A connection fiber starts with its log annotation and its Scope in the
//   FiberRefs it is forked with, instead of Effects that set and restore them.
import * as Context from "effect/Context";
import * as Effect from "effect/Effect";
import * as ExecutionStrategy from "effect/ExecutionStrategy";
import type * as Fiber from "effect/Fiber";
import * as FiberRef from "effect/FiberRef";
import * as FiberRefs from "effect/FiberRefs";
import * as HashMap from "effect/HashMap";
import { pipeArguments } from "effect/Pipeable";
import * as Runtime from "effect/Runtime";
import * as Scheduler from "effect/Scheduler";
import * as Scope from "effect/Scope";

// Set by Effect 3's fiber runtime while a fiber runs (see fiberRuntime.ts,
// drainQueueOnCurrentThread); undefined between fibers.
const CURRENT_FIBER = "effect/FiberCurrent";

/**
 * Effect's default scheduler, with one task queue for every fiber, except
 * that a fiber resumed while no fiber is running (from a socket's I/O
 * callback, at the top of a microtask) runs at once, instead of one more
 * microtask later through the queue. A fiber resumed from inside another
 * fiber's run still goes through the queue, so runs never nest.
 */
const sharedScheduler: Scheduler.Scheduler = {
  shouldYield: (fiber) => Scheduler.defaultScheduler.shouldYield(fiber),
  scheduleTask: (task, priority) => {
    if ((globalThis as Record<string, unknown>)[CURRENT_FIBER] === undefined) return task();
    Scheduler.defaultScheduler.scheduleTask(task, priority);
  },
};

/**
 * The Scope a handler gets: the real one is made the first time the handler
 * adds a finalizer or forks a scope, so handlers that never use it pay nothing.
 */
export class LazyScope implements Scope.Scope {
  readonly [Scope.ScopeTypeId]: Scope.ScopeTypeId = Scope.ScopeTypeId;
  readonly strategy: ExecutionStrategy.ExecutionStrategy = ExecutionStrategy.sequential;
  made: Scope.CloseableScope | undefined = undefined;

  private get scope(): Scope.CloseableScope {
    return this.made ??= Effect.runSync(Scope.make());
  }
  fork(strategy: ExecutionStrategy.ExecutionStrategy): Effect.Effect<Scope.CloseableScope> {
    return Effect.suspend(() => Scope.fork(this.scope, strategy));
  }
  addFinalizer(finalizer: Scope.Scope.Finalizer): Effect.Effect<void> {
    return Effect.suspend(() => Scope.addFinalizerExit(this.scope, finalizer));
  }
  pipe(): unknown {
    return pipeArguments(this, arguments);
  }
}

/** Forks connection fibers in a captured runtime. */
export interface ConnectionForker<R> {
  /** Runs any Effect in the server's runtime (logs, clean-up). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, R>) => Fiber.RuntimeFiber<A, E>;
  /** Forks a handler with `peer` in its log annotations and `scope` as its Scope. */
  readonly fork: <A, E>(
    effect: Effect.Effect<A, E, R>,
    peer: string,
    scope: LazyScope,
  ) => Fiber.RuntimeFiber<A, E>;
}

/**
 * Captures the current runtime, made interruptible (a Layer may build the
 * server in an uninterruptible region, and handlers must stay interruptible)
 * and with the shared scheduler.
 */
export const connectionForker = <R>(): Effect.Effect<ConnectionForker<R>, never, R> =>
  Effect.map(
    Effect.runtime<R>().pipe(Effect.withScheduler(sharedScheduler), Effect.interruptible),
    (runtime) => {
      const run = Runtime.runFork(runtime);
      const annotations = FiberRefs.getOrDefault(
        runtime.fiberRefs,
        FiberRef.currentLogAnnotations,
      );
      return {
        run: (effect) => run(effect),
        fork: (effect, peer, scope) =>
          run(effect, {
            updateRefs: (refs, fiberId) =>
              FiberRefs.updateManyAs(refs, {
                entries: [
                  [FiberRef.currentLogAnnotations, [[
                    fiberId,
                    HashMap.set(annotations, "peer", peer as unknown),
                  ]]],
                  [FiberRef.currentContext, [[
                    fiberId,
                    Context.add(runtime.context, Scope.Scope, scope as Scope.Scope),
                  ]]],
                ],
              }),
          }),
      };
    },
  );
