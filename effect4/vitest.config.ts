import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["tests/**/*.test.ts"],
    // Says once which test tools (python3, openssl, nc, cc) are missing.
    globalSetup: ["tests/_support/missing-tools-notice.ts"],
    pool: "forks",
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
