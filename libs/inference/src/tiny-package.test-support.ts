// A tiny v2 classifier package written at test time: a real ONNX graph shaped like an exported
// DenseNet classifier (feature map → ReLU → global average pooling → linear layer), whose
// feature map and logits are graph outputs and whose linear layer ships as the CAM weights.
// Random-free and tiny (32 px input, 4×4 feature map, 4 channels, 3 labels): tests know exactly
// what it computes.
//   features = ReLU(Conv1x1(AveragePool8x8(image)))   [N, 4, 4, 4]
//   logits   = W · GAP(features) + b                 [N, 3]
// Channel 0 follows the image's brightness (x / scale), channel 1 its darkness, channel 2 is the
// constant 1, channel 3 is 0. Label 0 (Effusion → pleural_effusion) weighs the bright channel,
// label 1 (Pneumothorax) is always negative, label 2 ("Lung Opacity", no code of ours) is always
// positive.
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_MODEL_SCOPE } from '@cxr/contracts';
import type { ModelManifestV2 } from './manifest.ts';
import { encodeOnnx } from './tiny-onnx.test-support.ts';

export const TINY = { size: 32, grid: 4, channels: 4, labels: 3 } as const;

/** Classifier weight [labels × C] and bias, as shipped in classifier.json. */
export const TINY_WEIGHT = [
  [12, 0, -1, 0],
  [0, 0, -2, 0],
  [0, 0, 2, 0],
];
export const TINY_BIAS = [0, -1, 0.5];

type Input = ModelManifestV2['input'];
export interface TinyOptions {
  channels?: 1 | 3;
  resize?: Input['resize'];
  normalisation?: Input['normalisation'];
  /** What the input values are divided by before the ReLU (1024 for a [-1024, 1024] range). */
  scale?: number;
  scores?: 'logits' | 'probabilities';
  text?: ModelManifestV2['text'];
  weightsFormat?: 'json' | 'float32-le';
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

export function tinyGraph(channels: 1 | 3, scale: number, probabilities: boolean): Uint8Array {
  const { size, grid, channels: C, labels: K } = TINY;
  const pool = size / grid;
  const conv = new Float32Array(C * channels);
  for (let c = 0; c < channels; c++) {
    conv[0 * channels + c] = 1 / scale / channels;
    conv[1 * channels + c] = -1 / scale / channels;
  }
  const convBias = new Float32Array([0, 0, 1, 0]);
  const scoresName = probabilities ? 'raw_logits' : 'logits';
  return encodeOnnx({
    inputs: [{ name: 'image', shape: ['N', channels, size, size] }],
    outputs: [
      { name: probabilities ? 'probabilities' : 'logits', shape: ['N', K] },
      { name: 'features', shape: ['N', C, grid, grid] },
    ],
    initializers: [
      { name: 'conv_w', dims: [C, channels, 1, 1], data: conv },
      { name: 'conv_b', dims: [C], data: convBias },
      { name: 'fc_w', dims: [K, C], data: new Float32Array(TINY_WEIGHT.flat()) },
      { name: 'fc_b', dims: [K], data: new Float32Array(TINY_BIAS) },
    ],
    nodes: [
      { op: 'AveragePool', inputs: ['image'], outputs: ['pooled'], attributes: [{ name: 'kernel_shape', ints: [pool, pool] }, { name: 'strides', ints: [pool, pool] }] },
      { op: 'Conv', inputs: ['pooled', 'conv_w', 'conv_b'], outputs: ['conv'] },
      { op: 'Relu', inputs: ['conv'], outputs: ['features'] },
      { op: 'GlobalAveragePool', inputs: ['features'], outputs: ['gap'] },
      { op: 'Flatten', inputs: ['gap'], outputs: ['flat'], attributes: [{ name: 'axis', int: 1 }] },
      { op: 'Gemm', inputs: ['flat', 'fc_w', 'fc_b'], outputs: [scoresName], attributes: [{ name: 'transB', int: 1 }] },
      ...(probabilities ? [{ op: 'Sigmoid', inputs: [scoresName], outputs: ['probabilities'] }] : []),
    ],
  });
}

export function tinyManifest(options: TinyOptions = {}): ModelManifestV2 {
  const channels = options.channels ?? 1;
  const probabilities = options.scores === 'probabilities';
  const scoresName = probabilities ? 'probabilities' : 'logits';
  const { size, grid, channels: C, labels: K } = TINY;
  return {
    formatVersion: 2,
    id: 'tiny-cam',
    version: '1.0.0',
    name: 'Tiny CAM classifier (test fixture, hand-set weights, no training)',
    files: {},
    input: {
      file: 'model.onnx',
      name: 'image',
      dtype: 'float32',
      shape: ['N', channels, size, size],
      size,
      channels,
      photometric: 'presentation grey16, bright = dense',
      resize: options.resize ?? { method: 'center-crop', kernel: 'linear' },
      normalisation: options.normalisation ?? { method: 'linear-range', from: [0, 1], to: [-1024, 1024] },
    },
    outputs: [
      { file: 'model.onnx', name: scoresName, dtype: 'float32', shape: ['N', K], meaning: 'per-label score' },
      { file: 'model.onnx', name: 'features', dtype: 'float32', shape: ['N', C, grid, grid], meaning: 'ReLU feature map before global average pooling' },
    ],
    scores: { output: scoresName, kind: probabilities ? 'probabilities' : 'logits' },
    heatmaps: { method: 'cam', featureMap: 'features', weights: options.weightsFormat === 'float32-le' ? 'classifier.bin' : 'classifier.json', weightsFormat: options.weightsFormat ?? 'json', channels: C },
    labels: [
      { name: 'Effusion', code: 'pleural_effusion', display: 'Pleural effusion', coding: { system: 'http://snomed.info/sct', code: '60046008', display: 'Pleural effusion' } },
      { name: 'Pneumothorax', code: 'pneumothorax', display: 'Pneumothorax', coding: { system: 'http://snomed.info/sct', code: '36118008', display: 'Pneumothorax' } },
      { name: 'Lung Opacity', code: 'lung_opacity', display: 'Lung Opacity', coding: null },
    ],
    thresholds: { method: 'fixed 0.5 (test fixture)', values: { pleural_effusion: 0.5, pneumothorax: 0.5, lung_opacity: 0.5 } },
    text: options.text ?? { decoder: 'none', style: 'structured-findings' },
    intendedUse: 'tests only',
    // Tiny test images (48×32) are read: the default scope's 256 px minimum would refuse them.
    scope: { ...DEFAULT_MODEL_SCOPE, minImageSize: 16 },
    modelCard: { training: 'none: hand-set weights' },
  };
}

/** Writes the package into `dir` (files hashed into the manifest); returns the manifest written. */
export async function writeTinyPackage(dir: string, options: TinyOptions = {}, edit?: (m: ModelManifestV2) => void): Promise<ModelManifestV2> {
  const manifest = tinyManifest(options);
  const channels = options.channels ?? 1;
  const files: Record<string, Uint8Array> = { 'model.onnx': tinyGraph(channels, options.scale ?? 1024, options.scores === 'probabilities') };
  if (options.weightsFormat === 'float32-le') {
    files['classifier.bin'] = new Uint8Array(new Float32Array([...TINY_WEIGHT.flat(), ...TINY_BIAS]).buffer);
  } else {
    files['classifier.json'] = new TextEncoder().encode(JSON.stringify({ weight: TINY_WEIGHT, bias: TINY_BIAS }));
  }
  for (const [name, bytes] of Object.entries(files)) {
    await writeFile(join(dir, name), bytes);
    manifest.files[name] = { sha256: sha(bytes), bytes: bytes.length };
  }
  edit?.(manifest);
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}
