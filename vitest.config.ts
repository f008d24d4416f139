import { configDefaults, defineConfig } from 'vitest/config';

// `npm test` runs every package's tests in one vitest process. Integration tests start their
// own redis-server / s3rver / DICOM peers; the e2e project starts the whole stack.
// The browser project (real Chromium against the whole stack) is slow, so it exists only when
// CXR_BROWSER_TESTS=1: `npm run test:browser` sets it, `npm test` leaves it out.
// The global setup builds the generated DICOM test corpus once (libs/test-corpus) and tells
// the tests where it and, when present, ../shared/dicom-samples are.
const browserTests = process.env.CXR_BROWSER_TESTS === '1';
// The model importers' tests export DenseNet-121 twice per format through PyTorch (a minute or
// more on 2 cores), so they too are a project of their own: `npm run test:importers`.
const importerTests = process.env.CXR_IMPORTER_TESTS === '1';

export default defineConfig({
  test: {
    projects: [
      { extends: true, test: { name: 'libs', include: ['libs/*/src/**/*.test.ts'] } },
      { extends: true, test: { name: 'models', include: ['models/*/src/**/*.test.ts', 'models/*/training/**/*.test.ts'] } },
      { extends: true, test: { name: 'services', include: ['services/*/src/**/*.test.ts'] } },
      {
        extends: true,
        test: { name: 'e2e', include: ['tests/**/*.test.ts'], exclude: [...configDefaults.exclude, 'tests/browser/**'], testTimeout: 180_000, hookTimeout: 180_000 },
      },
      ...(importerTests
        ? [{ extends: true as const, test: { name: 'importers', include: ['models/importers/test/**/*.test.ts'], testTimeout: 300_000, hookTimeout: 300_000 } }]
        : []),
      ...(browserTests
        ? [{ extends: true as const, test: { name: 'browser', include: ['tests/browser/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 300_000 } }]
        : []),
    ],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    globalSetup: ['libs/test-corpus/src/global-setup.ts'],
  },
});
