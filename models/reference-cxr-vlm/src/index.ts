import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * This model package's directory (manifest.json, encoder_model.onnx, decoder_model_merged.onnx and
 * the Hugging Face files): what `loadModelPackage` and WORKER_MODEL_DIR take.
 */
export const referenceVlmModelDir: string = resolve(dirname(fileURLToPath(import.meta.url)), '..');
