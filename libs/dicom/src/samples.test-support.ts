/** Test helper: the shared sample files (read-only). Not exported from the package. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `<repo>/../shared/dicom-samples`, or DICOM_SAMPLES_DIR when set (e.g. in CI). */
export const SAMPLES_DIR =
  process.env.DICOM_SAMPLES_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../../../shared/dicom-samples');

export function readSample(name: string): Buffer {
  return readFileSync(join(SAMPLES_DIR, name));
}

/** A small deterministic PRNG (mulberry32), so fuzz failures reproduce from the seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
