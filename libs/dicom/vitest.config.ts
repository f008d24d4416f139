import { defineConfig } from 'vitest/config';

// Lets `cd libs/dicom && npx vitest run` work on its own; the root config runs the same files
// in its 'libs' project (with its own, equal timeouts). The tests read the generated corpus,
// which the corpus package's global setup builds (a config path, not an import: @cxr/test-corpus
// depends on this package).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    globalSetup: ['../test-corpus/src/global-setup.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
