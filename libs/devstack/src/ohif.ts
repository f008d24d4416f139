import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './service-process.ts';

/**
 * The prebuilt OHIF v3 viewer for the browser tests: `@ohif/app` on npm ships its production
 * build in `dist/` (index.html, bundles, codecs' wasm). Only the tarball is fetched, with
 * `npm pack` from the configured npm registry (no `npm install`, so none of OHIF's dependency
 * tree), and its `dist/` is kept under `.cache/ohif/<version>/dist` (gitignored). A cached copy
 * is used as it is.
 */

/** The OHIF release the tests run (and the extension's README names as tested). */
export const OHIF_VERSION = '3.13.2';

export function ohifCacheDir(version = OHIF_VERSION): string {
  return join(REPO_ROOT, '.cache', 'ohif', version);
}

/** The cached `dist/`, or undefined when it has not been fetched. */
export function cachedOhifDist(version = OHIF_VERSION): string | undefined {
  const dist = join(ohifCacheDir(version), 'dist');
  return existsSync(join(dist, 'index.html')) ? dist : undefined;
}

function run(command: string, args: string[], cwd: string): string {
  const done = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  if (done.error) throw new Error(`${command} ${args.join(' ')}: ${done.error.message}`);
  if (done.status !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${done.status}: ${(done.stderr || done.stdout).trim().slice(-2000)}`);
  return done.stdout;
}

/** Fetches `@ohif/app@version` by `npm pack` and unpacks its `dist/` into the cache; returns it. */
export function fetchOhifDist(version = OHIF_VERSION): string {
  const cached = cachedOhifDist(version);
  if (cached) return cached;
  const cache = ohifCacheDir(version);
  mkdirSync(cache, { recursive: true });
  const work = mkdtempSync(join(cache, 'fetch-'));
  try {
    run('npm', ['pack', `@ohif/app@${version}`, '--silent', '--pack-destination', work], work);
    const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error(`npm pack @ohif/app@${version} left no tarball`);
    run('tar', ['-xzf', tarball, 'package/dist'], work);
    const unpacked = join(work, 'package', 'dist');
    if (!existsSync(join(unpacked, 'index.html'))) throw new Error(`@ohif/app@${version} has no dist/index.html (not a prebuilt release?)`);
    renameSync(unpacked, join(cache, 'dist'));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return join(cache, 'dist');
}
