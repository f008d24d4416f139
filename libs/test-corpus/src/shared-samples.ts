/**
 * `../shared/dicom-samples` beside the repository: real files written by other tools. Tests use
 * them as extra coverage when they are there (CI has them) and skip, saying so, when not.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './build.ts';

/** Where the shared samples would be: DICOM_SAMPLES_DIR, else `<repo>/../shared/dicom-samples`. */
export function sharedSamplesPath(): string {
  return process.env.DICOM_SAMPLES_DIR ?? join(REPO_ROOT, '..', 'shared', 'dicom-samples');
}

/** The shared samples folder if it exists and holds DICOM files, else null. */
export function locateSharedSamples(): string | null {
  const dir = sharedSamplesPath();
  return existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.dcm')) ? dir : null;
}

/** Appended to the names of tests over the shared files, so a skip says why. */
export const NEEDS_SHARED = '(needs ../shared/dicom-samples)';
