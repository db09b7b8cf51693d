export * as X from "effect/Effect";
