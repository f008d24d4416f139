// Names of model packages in the registry: `id@version` (e.g. `reference-cxr@0.4.0`), and where
// packages are found: a directory (the repo's `models/`) or an object-storage bucket
// (`s3://bucket[/prefix]`). Layout in both: `{id}/{version}/manifest.json` and the files it
// lists; a directory may also hold a single version as `{id}/` (how the repo ships models).
import { resolve } from 'node:path';

export interface ModelRef {
  id: string;
  version: string;
}

export type ModelSource = { kind: 'dir'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

/** Same rules as the manifest: kebab-case id, semver version. */
const ID = /^[a-z0-9][a-z0-9-]*$/;
const VERSION = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export class ModelRefError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelRefError';
  }
}

export function parseModelRef(text: string): ModelRef {
  const at = text.lastIndexOf('@');
  const id = text.slice(0, at);
  const version = text.slice(at + 1);
  if (at <= 0 || !ID.test(id) || !VERSION.test(version)) throw new ModelRefError(`'${text}' is not a model reference: expected id@version, e.g. reference-cxr@0.4.0`);
  return { id, version };
}

export const formatModelRef = (ref: ModelRef): string => `${ref.id}@${ref.version}`;

/** `s3://bucket` or `s3://bucket/some/prefix`, else a directory (relative to `cwd`). */
export function parseModelSource(text: string, cwd = process.cwd()): ModelSource {
  if (!text.startsWith('s3://')) return { kind: 'dir', dir: resolve(cwd, text) };
  const [bucket = '', ...rest] = text.slice('s3://'.length).split('/');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw new ModelRefError(`'${text}': '${bucket}' is not a bucket name`);
  const prefix = rest.filter(Boolean).join('/');
  return { kind: 's3', bucket, prefix: prefix ? `${prefix}/` : '' };
}

export function describeSource(source: ModelSource): string {
  return source.kind === 'dir' ? source.dir : `s3://${source.bucket}/${source.prefix}`;
}

/** Key prefix of one version in a bucket: `{prefix}{id}/{version}/`. */
export const packagePrefix = (source: Extract<ModelSource, { kind: 's3' }>, ref: ModelRef): string => `${source.prefix}${ref.id}/${ref.version}/`;
