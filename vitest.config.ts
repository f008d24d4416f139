import { defineConfig } from 'vitest/config';

// `npm test` runs every package's tests in one vitest process. Integration tests start their
// own redis-server / s3rver / DICOM peers; the e2e project starts the whole stack.
export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'libs', include: ['libs/*/src/**/*.test.ts'] } },
      { extends: true, test: { name: 'models', include: ['models/*/src/**/*.test.ts', 'models/*/training/**/*.test.ts'] } },
      { extends: true, test: { name: 'services', include: ['services/*/src/**/*.test.ts'] } },
      { extends: true, test: { name: 'e2e', include: ['tests/**/*.test.ts'], testTimeout: 180_000, hookTimeout: 180_000 } },
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
