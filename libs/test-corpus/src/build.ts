/**
 * Builds the corpus once into `<repo>/.cache/dicom-corpus/<key>/`, where the key hashes the
 * generator's sources and the versions of the tools it runs: a change to either builds a fresh
 * corpus, and an unchanged one is reused across test runs.
 *
 * Concurrent builders never see a half-written corpus: each builds in a folder of its own and
 * renames it into place; the first rename wins and the others discard their copy.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { corpusRecipes, type BuildContext } from './cases.ts';
import type { CorpusManifest } from './manifest.ts';

export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const CACHE_ROOT = join(REPO_ROOT, '.cache', 'dicom-corpus');
const PRUNE_AFTER_MS = 60 * 60 * 1000;

/** Debian packages whose tools the generator runs, and one tool of each to look for. */
export const CORPUS_TOOLS = { dcmtk: 'dcmconv', 'libgdcm-tools': 'gdcmconv' } as const;

/** Sources whose content decides the corpus: this package, and the writer and phantom it uses. */
function generatorSources(): string[] {
  const here = dirname(fileURLToPath(import.meta.url));
  const nonTest = (dir: string) =>
    readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts')).map((f) => join(dir, f));
  return [
    ...nonTest(here),
    ...nonTest(join(REPO_ROOT, 'libs', 'phantom', 'src')),
    ...['writer.ts', 'file-meta.ts', 'tags.ts', 'uids.ts'].map((f) => join(REPO_ROOT, 'libs', 'dicom', 'src', f)),
  ].sort();
}

function toolVersion(tool: string): string {
  try {
    return execFileSync(tool, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0] ?? '';
  } catch (error) {
    throw new Error(`the DICOM test corpus needs \`${tool}\` (Debian: apt-get install -y dcmtk libgdcm-tools)`, { cause: error });
  }
}

export function corpusKey(): string {
  const hash = createHash('sha256');
  for (const file of generatorSources()) hash.update(file.slice(REPO_ROOT.length)).update(readFileSync(file));
  for (const tool of Object.values(CORPUS_TOOLS)) hash.update(toolVersion(tool));
  return hash.digest('hex').slice(0, 16);
}

function runTool(name: string, args: string[]): void {
  try {
    execFileSync(name, args, { stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  } catch (error) {
    const e = error as { stderr?: Buffer; stdout?: Buffer };
    throw new Error(`${name} ${args.join(' ')} failed: ${String(e.stderr ?? '')}${String(e.stdout ?? '')}`, { cause: error });
  }
}

/** Writes every case and the manifest into `dir` (which must exist and be empty). */
export function writeCorpus(dir: string, key: string): CorpusManifest {
  const ctx: BuildContext = { dir, tool: runTool };
  const cases = corpusRecipes().map((recipe) => recipe.make(ctx));
  for (const f of readdirSync(dir)) if (f.endsWith('.tmp')) rmSync(join(dir, f));
  const manifest: CorpusManifest = { key, cases };
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 1)}\n`);
  return manifest;
}

/** The corpus folder, built first if this generator's corpus is not there yet. */
export function ensureCorpus(): string {
  const key = corpusKey();
  const dir = join(CACHE_ROOT, key);
  if (existsSync(join(dir, 'manifest.json'))) return dir;
  mkdirSync(CACHE_ROOT, { recursive: true });
  const building = join(CACHE_ROOT, `.building-${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(building);
  try {
    writeCorpus(building, key);
    try {
      renameSync(building, dir);
    } catch (error) {
      // Another process renamed its copy first: use that one.
      if (!existsSync(join(dir, 'manifest.json'))) throw error;
    }
  } finally {
    rmSync(building, { recursive: true, force: true });
  }
  // Corpora of older generators (and builds left by killed processes) are of no further use once
  // no run still reading one is likely.
  for (const entry of readdirSync(CACHE_ROOT)) {
    const old = join(CACHE_ROOT, entry);
    const modified = statSync(old, { throwIfNoEntry: false })?.mtimeMs ?? Date.now();
    if (entry !== key && Date.now() - modified > PRUNE_AFTER_MS) rmSync(old, { recursive: true, force: true });
  }
  return dir;
}
