import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/e2e/**', 'node_modules/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests start real servers and real processes: keep parallelism to the 2 cores CI has.
    pool: 'forks',
    maxWorkers: 2,
    minWorkers: 1,
  },
});
