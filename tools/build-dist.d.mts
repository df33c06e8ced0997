// Types of build-dist.mjs, for the tests that build dist/ before they spawn the CLI.
/** Why dist/ must be built, or null when it is as new as every source. */
export function staleReason(): string | null;
/** Builds dist/ (with `ifStale`, only when a source changed since the last build). Says whether it built. */
export function buildDist(options?: { ifStale?: boolean }): boolean;
