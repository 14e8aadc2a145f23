import { defineConfig } from 'vitest/config';

// The end-to-end suite (`npm run test:e2e`): a private Docker engine, real image builds, real
// storage servers. One file at a time — they share the engine and the 2 CI cores.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    globalSetup: ['test/e2e/global-setup.ts'],
    testTimeout: 300_000,
    // Image builds (better-sqlite3 compiles from source on a cold cache) run in beforeAll.
    hookTimeout: 1_200_000,
    pool: 'forks',
    fileParallelism: false,
    maxWorkers: 1,
    sequence: { concurrent: false },
    reporters: ['verbose'],
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
