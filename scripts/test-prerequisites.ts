/**
 * Runs before vitest in `npm test` and `npm run test:all` (and in .ci/run): the Debian packages
 * the tests start are there, installed now when missing and running as root; otherwise one line
 * says what is missing and how to install it, and the tests do not start.
 * `--browser` adds what the browser test needs (Chromium).
 */
import { BROWSER_TEST_PACKAGES, MissingPackagesError, TEST_PACKAGES, ensurePackages } from '@cxr/devstack';

const packages = process.argv.includes('--browser') ? [...TEST_PACKAGES, ...BROWSER_TEST_PACKAGES] : TEST_PACKAGES;
try {
  const installed = ensurePackages(packages, 'for the tests');
  if (installed.length > 0) console.log(`installed ${installed.join(' ')}`);
} catch (error) {
  console.error(error instanceof MissingPackagesError ? error.message : String(error));
  process.exit(1);
}
