// Finding a model package version and putting it on local disk, checked, before anything loads it.
//
// From a directory the package is used in place (loadModelPackage verifies it). From a bucket the
// manifest is read first, then every file it lists is downloaded into a fresh temporary folder and
// checked against the manifest's size and sha256 as it arrives; only a complete, verified copy is
// renamed into the cache (`{cacheDir}/{id}/{version}/`), so a half-downloaded or tampered package
// is never seen there. A cached copy is reused only if its manifest is byte-identical to the
// bucket's and its files still hash right. Failures are `ModelPackageError`s naming the file.
import { createHash, randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelPackageError, modelManifestSchema, type ModelManifest } from '@cxr/inference';
import { ObjectNotFoundError, ObjectTooLargeError, PermanentError, type ObjectStore } from '@cxr/platform';
import { describeSource, formatModelRef, packagePrefix, type ModelRef, type ModelSource } from './model-ref.ts';

export interface ModelStoreDeps {
  source: ModelSource;
  /** Where packages downloaded from a bucket are kept (`{cacheDir}/{id}/{version}/`). */
  cacheDir: string;
  /** Needed for an `s3://` source. */
  objects?: ObjectStore;
}

const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

export function parseManifest(bytes: Buffer, where: string): ModelManifest {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (error) {
    throw new ModelPackageError(`manifest.json: not valid JSON in ${where} (${(error as Error).message})`, { cause: error });
  }
  const parsed = modelManifestSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelPackageError(`manifest.json: invalid in ${where} (${issues})`);
  }
  return parsed.data;
}

function checkNames(manifest: ModelManifest, ref: ModelRef, where: string): void {
  if (manifest.id !== ref.id || manifest.version !== ref.version) {
    throw new ModelPackageError(`manifest.json: ${where} holds ${manifest.id}@${manifest.version}, not ${formatModelRef(ref)}`);
  }
}

/** Size and sha256 of one file against its manifest entry. */
export function checkFile(name: string, bytes: Uint8Array, entry: { sha256: string; bytes: number }): void {
  if (bytes.length !== entry.bytes) throw new ModelPackageError(`${name}: size mismatch (manifest ${entry.bytes} bytes, file ${bytes.length} bytes)`);
  const actual = sha256Hex(bytes);
  if (actual !== entry.sha256) throw new ModelPackageError(`${name}: sha256 mismatch (manifest ${entry.sha256}, file ${actual})`);
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

/** The local directory holding `ref`, downloading and verifying it first when the source is a bucket. */
export async function resolveModelPackage(ref: ModelRef, deps: ModelStoreDeps): Promise<string> {
  const { source } = deps;
  if (source.kind === 'dir') return resolveFromDirectory(ref, source.dir);
  if (!deps.objects) throw new Error('an s3:// model source needs an object store');
  return downloadPackage(ref, source, deps.cacheDir, deps.objects);
}

async function resolveFromDirectory(ref: ModelRef, root: string): Promise<string> {
  const versioned = join(root, ref.id, ref.version);
  const single = join(root, ref.id);
  let found = '';
  for (const dir of [versioned, single]) {
    const manifestPath = join(dir, 'manifest.json');
    if (!(await exists(manifestPath))) continue;
    const manifest = parseManifest(await readFile(manifestPath), dir);
    if (dir === versioned || manifest.version === ref.version) {
      checkNames(manifest, ref, dir);
      return dir;
    }
    found = ` (${ref.id}/ holds version ${manifest.version})`;
  }
  throw new ModelPackageError(`${formatModelRef(ref)}: not found in ${root}${found}`);
}

async function downloadPackage(ref: ModelRef, source: Extract<ModelSource, { kind: 's3' }>, cacheDir: string, objects: ObjectStore): Promise<string> {
  const where = `${describeSource(source)}${ref.id}/${ref.version}/`;
  const keyPrefix = packagePrefix(source, ref);
  let manifestBytes: Buffer;
  try {
    manifestBytes = await objects.get(source.bucket, `${keyPrefix}manifest.json`, MAX_MANIFEST_BYTES);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new ModelPackageError(`${formatModelRef(ref)}: not published in ${describeSource(source)} (no ${ref.id}/${ref.version}/manifest.json)`, { cause: error });
    throw error; // storage trouble: transient
  }
  const manifest = parseManifest(manifestBytes, where);
  checkNames(manifest, ref, where);

  const target = join(cacheDir, ref.id, ref.version);
  if (await cachedCopyIsGood(target, manifestBytes, manifest)) return target;

  await mkdir(cacheDir, { recursive: true });
  const partial = join(cacheDir, `.download-${ref.id}-${ref.version}-${randomUUID()}`);
  await mkdir(partial);
  try {
    for (const [name, entry] of Object.entries(manifest.files)) {
      let bytes: Buffer;
      try {
        // get() refuses an object larger than the manifest says before downloading it.
        bytes = await objects.get(source.bucket, `${keyPrefix}${name}`, entry.bytes);
      } catch (error) {
        if (error instanceof ObjectNotFoundError) throw new ModelPackageError(`${name}: missing from ${where}`, { cause: error });
        if (error instanceof ObjectTooLargeError) throw new ModelPackageError(`${name}: larger in ${where} than the manifest's ${entry.bytes} bytes`, { cause: error });
        if (error instanceof PermanentError) throw new ModelPackageError(`${name}: cannot be read from ${where} (${error.message})`, { cause: error });
        throw error;
      }
      checkFile(name, bytes, entry);
      await writeFile(join(partial, name), bytes);
    }
    await writeFile(join(partial, 'manifest.json'), manifestBytes);
    await rm(target, { recursive: true, force: true });
    await mkdir(join(cacheDir, ref.id), { recursive: true });
    await rename(partial, target);
    return target;
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
}

async function cachedCopyIsGood(dir: string, manifestBytes: Buffer, manifest: ModelManifest): Promise<boolean> {
  try {
    if (!(await readFile(join(dir, 'manifest.json'))).equals(manifestBytes)) return false;
    for (const [name, entry] of Object.entries(manifest.files)) checkFile(name, await readFile(join(dir, name)), entry);
    return true;
  } catch {
    return false; // absent, stale or damaged: download again
  }
}
