// Byte helpers: the root project's, shared as they are (no Effect in them).
export * from "../../../tests/_support/bytes.ts";
