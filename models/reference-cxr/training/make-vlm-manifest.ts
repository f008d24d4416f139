// Writes the format 2 manifest of reference-cxr-vlm: the reference CNN (the same weights, with the
// text encoder appended: encoder_model.onnx) and the Hugging Face decoder exported by
// train-hf-decoder.py --export. Scores, heatmaps, thresholds, scope, the out-of-distribution
// detector and the validation figures are the reference package's (the classifier is the same
// graph); the text and the model card are new.
//
//   tsx make-vlm-manifest.ts --package ../../reference-cxr-vlm --training data/hf [--version 0.1.0] [--metrics evaluation.json]
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { modelManifestV1Schema, modelManifestV2Schema } from '@cxr/inference';

const { values } = parseArgs({ options: { package: { type: 'string' }, training: { type: 'string' }, version: { type: 'string', default: '0.1.0' }, metrics: { type: 'string' } } });
if (!values.package || !values.training) throw new Error('usage: make-vlm-manifest.ts --package DIR --training DIR [--version 0.1.0] [--metrics evaluation.json]');
const out = resolve(values.package);
const reference = resolve(import.meta.dirname, '..');
const v1 = modelManifestV1Schema.parse(JSON.parse(readFileSync(join(reference, 'manifest.json'), 'utf8')));
copyFileSync(join(reference, v1.ood!.file), join(out, v1.ood!.file));
const config = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')) as { decoder: { n_embd: number; n_layer: number; n_head: number; vocab_size: number } };
const training = JSON.parse(readFileSync(join(values.training, 'training.json'), 'utf8')) as { parameters: number; trainingReports: number; log: { epoch: number; minutes: number }[]; args: Record<string, unknown> };
const exported = JSON.parse(readFileSync(join(values.training, 'export.json'), 'utf8')) as { parity: Record<string, number> };
const names = ['encoder_model.onnx', 'decoder_model_merged.onnx', 'tokenizer.json', 'tokenizer_config.json', 'config.json', 'generation_config.json', v1.ood!.file];
const files = Object.fromEntries(
  names.map((name) => {
    const bytes = readFileSync(join(out, name));
    return [name, { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length }];
  }),
);
const d = config.decoder.n_embd;
/** The evaluation's headline figures for the model card (the whole record stays in evaluation.json). */
function cardMetrics(path: string): unknown {
  const e = JSON.parse(readFileSync(path, 'utf8')) as { summary: unknown; report: { findingF1: unknown; perFinding: unknown; location?: unknown } };
  return { summary: e.summary, report: { findingF1: e.report.findingF1, perFinding: e.report.perFinding, location: e.report.location }, note: 'measured by @cxr/model-evaluation through @cxr/inference on the files with the sha256 values in files; full record: evaluation.json' };
}
const metrics = values.metrics && existsSync(values.metrics) ? cardMetrics(values.metrics) : undefined;
const vision = (name: string) => v1.outputs.find((o) => o.name === name)!;
const manifest = {
  formatVersion: 2,
  id: 'reference-cxr-vlm',
  version: values.version,
  name: 'Reference CXR with a transformer report decoder (synthetic phantoms)',
  files,
  input: {
    file: 'encoder_model.onnx',
    name: 'pixel_values',
    dtype: 'float32',
    shape: ['N', 1, v1.input.size, v1.input.size],
    size: v1.input.size,
    channels: 1,
    photometric: v1.input.photometric,
    resize: { method: 'letterbox', kernel: v1.input.resize.kernel, padValue: v1.input.resize.padValue, description: v1.input.resize.description },
    normalisation: { method: 'zscore-content', epsilon: v1.input.normalisation.epsilon, description: v1.input.normalisation.description },
  },
  outputs: [
    ...['logits', 'heatmaps', 'conditioning'].map((name) => ({ ...vision(name), file: 'encoder_model.onnx' })),
    {
      file: 'encoder_model.onnx',
      name: 'last_hidden_state',
      dtype: 'float32',
      shape: ['N', 6, d],
      meaning: `the text encoder's states for the decoder's cross-attention: one token per finding (from its logit, 4x4 heatmap statistics and peak in conditioning) and one of the 64 global features, ${d} wide`,
    },
  ],
  scores: { output: 'logits', kind: 'logits' },
  heatmaps: { method: 'graph', output: 'heatmaps' },
  labels: v1.labels.map((l) => ({ name: l.code, ...l })),
  thresholds: v1.thresholds,
  text: {
    decoder: 'hf-encoder-decoder',
    encoderFile: 'encoder_model.onnx',
    encoderOutput: 'last_hidden_state',
    decoderFile: 'decoder_model_merged.onnx',
    tokenizer: 'tokenizer.json',
    tokenizerConfig: 'tokenizer_config.json',
    config: 'config.json',
    generationConfig: 'generation_config.json',
    impressionMarker: 'IMPRESSION:',
  },
  intendedUse: v1.intendedUse,
  scope: v1.scope,
  ood: v1.ood,
  validation: v1.validation,
  modelCard: {
    trainingData: `${training.trainingReports} synthetic phantoms (@cxr/phantom seeds 1000000..1008999, the generator's own finding mix, rendered 256 px wide) with the reports they were generated with; conditioning from the frozen reference-cxr ${v1.version} CNN`,
    architecture: `VisionEncoderDecoderModel: encoder = the reference CNN + a token projection (6 tokens of ${d}); decoder = GPT-2, ${config.decoder.n_layer} layers of ${d}, ${config.decoder.n_head} heads, cross-attention, byte-level BPE vocabulary of ${config.decoder.vocab_size}; ${training.parameters} trainable parameters`,
    training: { ...training.args, epochs: training.log.length, minutes: training.log.at(-1)?.minutes },
    exportParity: exported.parity,
    classifier: `the reference-cxr ${v1.version} CNN, unchanged: its scores, heatmaps, thresholds, out-of-distribution detector and validation figures apply as they are`,
    ...(metrics ? { evaluationMetrics: metrics } : {}),
    limitations: ['synthetic data only; no real radiograph has been seen', 'the text states what the classifier found; it adds no finding the classifier missed'],
    notForClinicalUse: true,
  },
};
writeFileSync(join(out, 'manifest.json'), `${JSON.stringify(modelManifestV2Schema.parse(manifest), null, 2)}\n`);
console.log(`${join(out, 'manifest.json')}: ${Object.keys(files).length} files`);
