// The external programs some tests use as real peers or build tools: the root
// project's list, lookups and skip rules, shared as they are (the file uses no
// Effect, so both lines run it unchanged).
export * from "../../../tests/_support/tools.ts";
