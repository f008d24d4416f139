import { resolve } from 'node:path';
import { REFERENCE_MODEL_DIR } from '@cxr/inference';

/** A model argument: the id of a package in this repository, or a path to a package folder. */
export function modelDirOf(model: string): string {
  return model === 'reference-cxr' ? REFERENCE_MODEL_DIR : resolve(model);
}
