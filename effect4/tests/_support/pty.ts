// Programs on a real pseudo-terminal: the root project's helper, shared as it
// is (no Effect in it).
export * from "../../../tests/_support/pty.ts";
