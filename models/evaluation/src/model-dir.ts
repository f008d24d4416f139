import { resolve } from 'node:path';
import { referenceModelDir } from '@cxr/model-reference-cxr';

/** A model argument: the id of a package in this repository, or a path to a package folder. */
export function modelDirOf(model: string): string {
  return model === 'reference-cxr' ? referenceModelDir : resolve(model);
}
