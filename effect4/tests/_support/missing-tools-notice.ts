// vitest globalSetup: the root project's notice of missing test tools.
export { default } from "../../../tests/_support/missing-tools-notice.ts";
