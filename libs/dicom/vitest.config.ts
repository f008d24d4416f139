import { defineConfig } from 'vitest/config';

// Lets `cd libs/dicom && npx vitest run` work on its own; the root config runs the same files
// in its 'libs' project (with its own, equal timeouts).
export default defineConfig({
  test: {
    include: ['src/**/*.test.ts'],
    testTimeout: 30_000,
    pool: 'forks',
  },
});
