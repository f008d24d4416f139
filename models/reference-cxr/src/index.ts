import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export { buildVocabulary, encodeReport, splitWords, SPECIAL_TOKENS, TOKEN_PATTERN } from './tokenizer.ts';

/**
 * This model package's directory (manifest.json, vision.onnx, decoder.onnx): what
 * `loadModelPackage` takes, and the worker's default model. The package says where it is, so no
 * library has to know the repository's layout.
 */
export const referenceModelDir: string = resolve(dirname(fileURLToPath(import.meta.url)), '..');
