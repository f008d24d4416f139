/**
 * Test helper (not exported from the package): DICOM files for this package's tests.
 *
 * - The generated corpus (libs/test-corpus), always there: the root vitest global setup builds
 *   it and provides its folder. Read here through its manifest.json rather than by importing
 *   `@cxr/test-corpus`, which depends on this package (an import would be a package cycle); the
 *   interfaces below are the part of that manifest these tests use.
 * - The shared samples (`../shared/dicom-samples`, or DICOM_SAMPLES_DIR), real files written by
 *   other tools, when present: tests over them are extra coverage and skip, saying so, when not.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    dicomCorpusDir: string;
    sharedDicomSamplesDir: string | null;
  }
}

export interface CorpusSource {
  file: string;
  type: 'Uint8Array' | 'Uint16Array' | 'Int16Array';
  decodedPhotometric: string;
  lossless: boolean;
  tolerance?: { maxAbs: number; meanAbs: number };
}

export interface CorpusCase {
  name: string;
  what: string;
  transferSyntaxUid?: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string;
  identifiers: { patientName: string; patientId: string; accessionNumber: string; studyDate: string };
  image?: {
    rows: number;
    columns: number;
    frames: number;
    samplesPerPixel: number;
    photometric: string;
    bitsAllocated: number;
    bitsStored: number;
    highBit: number;
    pixelRepresentation: number;
    source?: CorpusSource;
    window?: { center: number; width: number };
    rescale?: { slope: number; intercept: number };
    modalityLut?: { firstMapped: number; bits: number; data: number[] };
    voiLut?: { firstMapped: number; bits: number; data: number[] };
  };
  refusal?: { error: string; reason: string; message: string };
}

function corpusDir(): string {
  const dir = inject('dicomCorpusDir');
  if (!dir) throw new Error('the DICOM test corpus was not built: run the tests through the root vitest config (npm test)');
  return dir;
}

export const CORPUS_DIR = corpusDir();
export const CORPUS: readonly CorpusCase[] = (JSON.parse(readFileSync(join(CORPUS_DIR, 'manifest.json'), 'utf8')) as { cases: CorpusCase[] }).cases;

export function corpusCase(name: string): CorpusCase {
  const found = CORPUS.find((c) => c.name === name);
  if (!found) throw new Error(`the DICOM test corpus has no case ${name}`);
  return found;
}

export function corpusPath(name: string): string {
  return join(CORPUS_DIR, corpusCase(name).name);
}

export function readCorpus(name: string): Buffer {
  return readFileSync(corpusPath(name));
}

/** The stored values the generator wrote for an image case, all frames. */
export function corpusSourcePixels(name: string): Uint8Array | Uint16Array | Int16Array {
  const source = corpusCase(name).image?.source;
  if (!source) throw new Error(`corpus case ${name} has no source pixels`);
  const bytes = readFileSync(join(CORPUS_DIR, source.file));
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  return source.type === 'Uint8Array' ? new Uint8Array(copy) : source.type === 'Int16Array' ? new Int16Array(copy) : new Uint16Array(copy);
}

/** The shared samples folder when present, else null (as located by the global setup). */
export const SHARED_SAMPLES_DIR: string | null = inject('sharedDicomSamplesDir') ?? null;
export const HAS_SHARED_SAMPLES = SHARED_SAMPLES_DIR !== null;
/** Appended to the names of tests over the shared files, so that a skip says why. */
export const NEEDS_SHARED = '(needs ../shared/dicom-samples)';

export function readSample(name: string): Buffer {
  if (!SHARED_SAMPLES_DIR) throw new Error(`${name} is a shared sample, and ../shared/dicom-samples is not there`);
  return readFileSync(join(SHARED_SAMPLES_DIR, name));
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
