import { resolve } from 'node:path';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { referenceVlmModelDir } from '@cxr/model-reference-cxr-vlm';

/** A model argument: the id of a package in this repository, or a path to a package folder. */
export function modelDirOf(model: string): string {
  if (model === 'reference-cxr') return referenceModelDir;
  if (model === 'reference-cxr-vlm') return referenceVlmModelDir;
  return resolve(model);
}
