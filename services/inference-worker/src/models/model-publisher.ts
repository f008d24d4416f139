// Uploading a model package to the registry bucket. The package is loaded first with exactly the
// checks the worker applies (manifest, sizes and hashes, graphs), so nothing unusable is published.
// The files go up before the manifest: a version is visible to workers only once complete. A
// published version is immutable: publishing different content under the same id@version is
// refused (bump the version) unless forced.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelPackageError, loadModelPackage } from '@cxr/inference';
import type { ObjectStore } from '@cxr/platform';
import { formatModelRef, packagePrefix, type ModelRef, type ModelSource } from './model-ref.ts';
import { checkFile, parseManifest } from './model-store.ts';

export interface PublishOptions {
  objects: ObjectStore;
  target: Extract<ModelSource, { kind: 's3' }>;
  /** Replace a published version whose content differs (normally refused). */
  force?: boolean;
}

export interface PublishOutcome {
  ref: ModelRef;
  /** `already-published`: the same manifest was there; nothing was uploaded. */
  outcome: 'published' | 'already-published' | 'replaced';
  keys: string[];
}

export async function publishModelPackage(dir: string, options: PublishOptions): Promise<PublishOutcome> {
  const { objects, target } = options;
  const manifestBytes = await readFile(join(dir, 'manifest.json')).catch((error: unknown) => {
    throw new ModelPackageError(`manifest.json: cannot read it in ${dir} (${(error as NodeJS.ErrnoException).code ?? String(error)})`, { cause: error });
  });
  const manifest = parseManifest(manifestBytes, dir);
  const loaded = await loadModelPackage(dir, { executionProviders: ['cpu'] });
  await loaded.close();
  const ref = { id: manifest.id, version: manifest.version };
  const prefix = packagePrefix(target, ref);

  await objects.ensureBuckets([target.bucket]);
  const existing = await objects.stat(target.bucket, `${prefix}manifest.json`);
  let outcome: PublishOutcome['outcome'] = 'published';
  if (existing) {
    const published = await objects.get(target.bucket, `${prefix}manifest.json`);
    if (published.equals(manifestBytes)) return { ref, outcome: 'already-published', keys: [] };
    if (!options.force) {
      throw new ModelPackageError(`${formatModelRef(ref)} is already published in s3://${target.bucket}/${target.prefix} with a different manifest: bump the version (or pass --force)`);
    }
    // Hide the old version while its files are replaced.
    await objects.remove(target.bucket, `${prefix}manifest.json`);
    outcome = 'replaced';
  }
  const keys: string[] = [];
  for (const [name, entry] of Object.entries(manifest.files)) {
    const bytes = await readFile(join(dir, name));
    checkFile(name, bytes, entry); // the bytes uploaded are the bytes checked
    await objects.put(target.bucket, `${prefix}${name}`, bytes, 'application/octet-stream');
    keys.push(`${prefix}${name}`);
  }
  await objects.put(target.bucket, `${prefix}manifest.json`, manifestBytes, 'application/json');
  keys.push(`${prefix}manifest.json`);
  return { ref, outcome, keys };
}
