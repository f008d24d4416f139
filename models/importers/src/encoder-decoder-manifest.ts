// The manifest of a package made from a classifier package and an imported Hugging Face
// encoder-decoder: the classifier's sections unchanged (input, outputs, scores, heatmaps, labels,
// thresholds, scope, ood, validation), its files, and a `text` section naming Optimum's two-graph
// export, every file hashed.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelManifestV2Schema, type ModelManifestV2 } from '@cxr/inference';
import { ImportModelError } from './import-model.ts';

/** The files the Python export writes beside the classifier's, as the text section names them. */
export const TEXT_FILES = {
  encoderFile: 'encoder_model.onnx',
  decoderFile: 'decoder_model.onnx',
  decoderWithPastFile: 'decoder_with_past_model.onnx',
  tokenizer: 'tokenizer.json',
  config: 'config.json',
  generationConfig: 'generation_config.json',
  preprocessorConfig: 'preprocessor_config.json',
} as const;

export interface TextModelCard {
  source: Record<string, unknown>;
  architecture: string;
  /** How the encoder reads the classifier's input tensor (hf_encoder_decoder.py). */
  encoderInput: { scale: number[]; shift: number[]; note: string };
  parity: Record<string, unknown>;
  timings: Record<string, number>;
}

export interface CombinedManifestOptions {
  /** The classifier's manifest.json as it is (the raw JSON, so nothing the schema defaults is added). */
  classifier: Record<string, unknown>;
  classifierSha256: string;
  /** The package folder, holding the classifier's files and the export's. */
  dir: string;
  id: string;
  version: string;
  randomInit: boolean;
  text: TextModelCard;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Parses a classifier package's manifest and checks it can take a text section. */
export function classifierManifestOf(json: unknown, dir: string): ModelManifestV2 {
  const parsed = modelManifestV2Schema.safeParse(json);
  if (!parsed.success) throw new ImportModelError(`--classifier ${dir}: not a v2 model package manifest (${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')})`);
  const m = parsed.data;
  if (m.text.decoder !== 'none') throw new ImportModelError(`--classifier ${dir}: it already has a text decoder (${m.text.decoder}); give a classifier package with text.decoder "none"`);
  const clash = Object.values(TEXT_FILES).filter((f) => f in m.files);
  if (clash.length > 0) throw new ImportModelError(`--classifier ${dir}: its files ${clash.join(', ')} have the names of the export's files`);
  return m;
}

export async function combinedManifest(o: CombinedManifestOptions): Promise<ModelManifestV2> {
  const c = o.classifier as ModelManifestV2 & Record<string, unknown>;
  const files: ModelManifestV2['files'] = { ...c.files };
  for (const name of Object.values(TEXT_FILES)) {
    const bytes = await readFile(join(o.dir, name));
    files[name] = { sha256: sha256(bytes), bytes: bytes.length };
  }
  const random = o.randomInit ? 'RANDOM WEIGHTS (--random-init): the text model is not a real one; its text means nothing. ' : '';
  const manifest = {
    ...c,
    id: o.id,
    version: o.version,
    name: `${c.name ?? c.id} with report text from a Hugging Face encoder-decoder${o.randomInit ? ' (random weights)' : ''}`,
    files,
    text: { decoder: 'hf-encoder-decoder', ...TEXT_FILES, encoderOutput: 'last_hidden_state' },
    intendedUse:
      random +
      `Scores, heatmaps, scope and out-of-distribution detector: the classifier package ${c.id} ${c.version}, unchanged. Report text: a Hugging Face VisionEncoderDecoderModel imported by npm run model:import, ` +
      `its encoder reading the classifier's input tensor. This project has not evaluated the text model on any data: it is not for clinical use. ` +
      `The classifier's intended use: ${c.intendedUse}`,
    modelCard: {
      classifier: { id: c.id, version: c.version, manifestSha256: o.classifierSha256, modelCard: c.modelCard },
      textModel: { importer: { command: 'npm run model:import -- --format hf-vision-encoder-decoder', layout: 'Optimum two-graph (decoder_model.onnx + decoder_with_past_model.onnx)' }, ...o.text },
      syntheticOrRandom: o.randomInit || c.modelCard.syntheticOrRandom === true,
    },
  };
  const parsed = modelManifestV2Schema.safeParse(manifest);
  if (!parsed.success) throw new ImportModelError(`the combined manifest is invalid: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
  return manifest as ModelManifestV2;
}
