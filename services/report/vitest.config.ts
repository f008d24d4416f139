import { defineConfig } from 'vitest/config';

// Lets `npm test -w @cxr/report` run this package's tests on their own; the root config runs
// them with everything else. Integration tests start their own redis-server and s3rver.
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
