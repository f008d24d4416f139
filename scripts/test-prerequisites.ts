/**
 * Runs before vitest in `npm test` and `npm run test:all` (and in .ci/run): the Debian packages
 * the tests start are there, installed now when missing and running as root; otherwise one line
 * says what is missing and how to install it, and the tests do not start.
 * `--browser` adds what the browser tests need: Chromium, and the prebuilt OHIF viewer
 * (`@ohif/app`'s `dist/`, fetched once by `npm pack` into `.cache/ohif/`, ~50 MB download).
 */
import { BROWSER_TEST_PACKAGES, MissingPackagesError, OHIF_VERSION, TEST_PACKAGES, cachedOhifDist, ensurePackages, fetchOhifDist } from '@cxr/devstack';

const packages = process.argv.includes('--browser') ? [...TEST_PACKAGES, ...BROWSER_TEST_PACKAGES] : TEST_PACKAGES;
try {
  const installed = ensurePackages(packages, 'for the tests');
  if (installed.length > 0) console.log(`installed ${installed.join(' ')}`);
} catch (error) {
  console.error(error instanceof MissingPackagesError ? error.message : String(error));
  process.exit(1);
}

if (process.argv.includes('--browser') && !cachedOhifDist()) {
  const started = performance.now();
  try {
    const dist = fetchOhifDist();
    console.log(`fetched OHIF ${OHIF_VERSION} (npm pack @ohif/app) into ${dist} in ${Math.round((performance.now() - started) / 1000)} s`);
  } catch (error) {
    console.error(`could not fetch the prebuilt OHIF viewer for the browser tests: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
