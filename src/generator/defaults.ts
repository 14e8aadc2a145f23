/**
 * The runtimes a generated Dockerfile uses when the project declares none, in one place.
 * Supported lines only: Node 20 reached end of life in April 2026; Node 26 became the newest
 * LTS line in October 2026 (26.x on the npm `node` package, checked 2026-12-03).
 * The .NET default belongs beside it (`dotnet`).
 */
export const RUNTIME_DEFAULTS = {
  node: { version: '26', why: 'newest Node LTS line' },
} as const;
