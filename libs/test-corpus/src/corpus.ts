/** The corpus as tests see it: its folder, its cases, and the shared samples when present. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { inject } from 'vitest';
import { ensureCorpus } from './build.ts';
import { readManifest, readSourcePixels, type CorpusCase, type CorpusManifest } from './manifest.ts';
import { locateSharedSamples } from './shared-samples.ts';
import './provided-context.ts';

export interface Corpus {
  dir: string;
  manifest: CorpusManifest;
  /** The case of that file name; throws on a name the corpus does not hold. */
  case(name: string): CorpusCase;
  path(name: string): string;
  read(name: string): Buffer;
  /** The stored values the generator wrote for an image case. */
  sourcePixels(name: string): Uint8Array | Uint16Array | Int16Array;
}

let loaded: Corpus | undefined;

/** The corpus the global setup built (or, run without it, built here). */
export function corpus(): Corpus {
  if (loaded) return loaded;
  const dir = inject('dicomCorpusDir') ?? ensureCorpus();
  const manifest = readManifest(dir);
  const byName = new Map(manifest.cases.map((c) => [c.name, c]));
  const caseOf = (name: string): CorpusCase => {
    const found = byName.get(name);
    if (!found) throw new Error(`the DICOM test corpus has no case ${name}`);
    return found;
  };
  loaded = {
    dir,
    manifest,
    case: caseOf,
    path: (name) => join(dir, caseOf(name).name),
    read: (name) => readFileSync(join(dir, caseOf(name).name)),
    sourcePixels: (name) => {
      const source = caseOf(name).image?.source;
      if (!source) throw new Error(`corpus case ${name} has no source pixels`);
      return readSourcePixels(dir, source);
    },
  };
  return loaded;
}

/** The shared samples folder when present, else null (tests over it skip). */
export function sharedSamplesDir(): string | null {
  const provided = inject('sharedDicomSamplesDir');
  return provided === undefined ? locateSharedSamples() : provided;
}
