// The importers end to end on the real DenseNet-121 architecture with RANDOM WEIGHTS: no real
// checkpoint is downloaded or used anywhere here. The checkpoint-layout tests write random weights
// in the layouts torchxrayvision's and CheXNet's release files have (python/make_fixture.py).
// Needs the importers' Python environment (npm run model:import -- --setup); skipped without it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { modelManifestV2Schema, type ModelManifestV2 } from '@cxr/inference';
import { importEncoderDecoder, importModel, ImportModelError, type ImportFormat } from '../src/import-model.ts';
import { DEFAULT_VENV_DIR, probeEnv, PYTHON_DIR, run } from '../src/python-env.ts';

const env = await probeEnv(process.env.CXR_IMPORTERS_VENV || DEFAULT_VENV_DIR);
if (!env.ready) console.warn(`[importers] skipping the importer tests: ${env.reason}`);
const python = env.ready ? env.python : '';

const readF32 = async (path: string): Promise<Float32Array> => {
  const b = await readFile(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};
const maxAbsDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), a.length === b.length ? 0 : Infinity);

describe.skipIf(!env.ready)('model:import (random weights only, no real checkpoint)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cxr-importers-'));
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const manifestOf = async (out: string): Promise<ModelManifestV2> => modelManifestV2Schema.parse(JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8')));

  test.each([
    ['torchxrayvision', 1, 18, { method: 'linear-range', from: [0, 1], to: [-1024, 1024] }],
    ['chexnet', 3, 14, { method: 'mean-std', mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }],
  ] as const)(
    '%s --random-init (random weights, not a real model) writes a v2 package that onnxruntime-node runs like PyTorch and that loads and reads a phantom',
    async (format, channels, labels, normalisation) => {
      const out = join(dir, `${format}-random`);
      const report = await importModel({ format: format as ImportFormat, randomInit: true, seed: 3, out, python });
      console.log(`[importers] ${format} random-init: parity ${JSON.stringify(report.parity.onnxruntimeNode.maxAbsDiff)}, timings ${JSON.stringify(report.timings)}`);
      expect(report.parity.onnxruntimeNode.pass).toBe(true);
      expect(report.parity.onnxruntimeNode.maxAbsDiff.logits).toBeLessThanOrEqual(1e-4);
      expect(report.parity.onnxruntimeNode.maxAbsDiff.pooled).toBeLessThanOrEqual(1e-4);
      expect(report.parity.camMeanVsLogit).toBeLessThanOrEqual(1e-4);
      const m = await manifestOf(out);
      // The pooled descriptor for the out-of-distribution detector (model:fit-ood --output pooled).
      expect(m.outputs.map((o) => [o.name, o.shape])).toEqual([['logits', ['N', labels]], ['features', ['N', 1024, 7, 7]], ['pooled', ['N', 1024]]]);
      expect(m.formatVersion).toBe(2);
      expect(m.input).toMatchObject({ channels, size: 224, shape: ['N', channels, 224, 224], resize: { method: 'center-crop' }, normalisation });
      expect(m.labels).toHaveLength(labels);
      expect(m.scores).toEqual({ output: 'logits', kind: 'logits' });
      expect(m.heatmaps).toMatchObject({ method: 'cam', featureMap: 'features', weights: 'classifier.json', weightsFormat: 'json', channels: 1024 });
      expect(Object.keys(m.files).sort()).toEqual(['classifier.json', 'model.onnx']);
      expect(m.intendedUse).toMatch(/RANDOM WEIGHTS/);
      expect(m.modelCard.source).toEqual({ kind: 'random-init', seed: 3 });
      // Labels: ours where they correspond, the model's own name otherwise.
      expect(m.labels).toContainEqual({ name: 'Effusion', code: 'pleural_effusion', display: 'Pleural effusion', coding: { system: 'http://snomed.info/sct', code: '60046008', display: 'Pleural effusion' } });
      expect(m.labels).toContainEqual({ name: 'Pleural_Thickening', code: 'pleural_thickening', display: 'Pleural Thickening', coding: null });
      expect(report.loaded).toMatchObject({ id: `${format}-densenet121-random`, labels });
      expect(report.phantom.inScope).toBe(true);
      expect(report.phantom.findings).toBe(labels);
      expect(report.phantom.heatmap!.width).toBeGreaterThan(1);
      expect(report.phantom.text.length).toBeGreaterThan(0);
    },
    240_000,
  );

  test.each([
    ['torchxrayvision', 'torchxrayvision-pickle'],
    ['chexnet', 'chexnet-tar'],
    ['chexnet', 'state-dict-safetensors'],
  ] as const)(
    'a %s checkpoint in its release layout (%s, random weights) loads unchanged: the package gives that model\'s own logits',
    async (format, layout) => {
      const checkpoint = join(dir, `${layout}.${layout.endsWith('safetensors') ? 'safetensors' : 'pt'}`);
      const expectedFile = join(dir, `${layout}.expected.f32`);
      const made = await run(python, [join(PYTHON_DIR, 'make_fixture.py'), '--layout', layout, '--out', checkpoint, '--expected', expectedFile], { cwd: PYTHON_DIR });
      expect(made.stderr).toBe('');
      const out = join(dir, `${format}-from-${layout}`);
      const report = await importModel({ format, checkpoint, randomInit: false, out, python, keepParity: true });
      expect(report.parity.onnxruntimeNode.pass).toBe(true);
      const session = await ort.InferenceSession.create(join(out, 'model.onnx'));
      const shapes = JSON.parse(await readFile(join(out, '.parity', 'shapes.json'), 'utf8')) as { input: { shape: number[] } };
      const result = await session.run({ image: new ort.Tensor('float32', await readF32(join(out, '.parity', 'image.f32')), shapes.input.shape) });
      await session.release();
      expect(maxAbsDiff(result.logits!.data as Float32Array, await readF32(expectedFile))).toBeLessThanOrEqual(1e-4);
      const m = await manifestOf(out);
      expect(m.modelCard.source).toMatchObject({ kind: 'checkpoint', file: checkpoint.split('/').pop() });
      if (format === 'torchxrayvision') {
        // op_threshs came with the checkpoint; the one NaN (an untrained label, Hernia) falls back to 0.5.
        expect(m.thresholds.method).toMatch(/op_threshs/);
        expect(m.thresholds.values.hernia).toBe(0.5);
        expect(Object.values(m.thresholds.values).filter((v) => v !== 0.5)).toHaveLength(17);
      } else {
        expect(m.thresholds.method).toMatch(/no operating points/);
      }
    },
    240_000,
  );

  test('refuses a checkpoint of another layout, naming the keys that do not fit', async () => {
    const checkpoint = join(dir, 'torchxrayvision-pickle.pt'); // written by the test above: 1 input channel, 18 outputs
    const error = await importModel({ format: 'chexnet', checkpoint, randomInit: false, out: join(dir, 'wrong'), python }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportModelError);
    expect((error as Error).message).toMatch(/not a DenseNet-121 checkpoint in the chexnet layout: .*of another shape \(features\.conv0\.weight \(64, 1, 7, 7\) \(ours \(64, 3, 7, 7\)\)/);
  }, 120_000);

  test('hf-vision-encoder-decoder --random-init (a tiny ViT + GPT-2 built from configs, random weights, nothing downloaded) writes the Optimum layout whose past-key-value graphs decode like PyTorch', async () => {
    const out = join(dir, 'hf-random');
    const report = await importEncoderDecoder({ format: 'hf-vision-encoder-decoder', randomInit: true, out, python });
    console.log(`[importers] hf-vision-encoder-decoder random-init: parity ${JSON.stringify(report.parity.onnxruntimePython)}, node ${JSON.stringify(report.parity.onnxruntimeNode.maxAbsDiff)}`);
    for (const [graph, diff] of Object.entries(report.parity.onnxruntimePython)) expect(diff, graph).toBeLessThanOrEqual(1e-4);
    expect(report.parity.onnxruntimeNode.pass).toBe(true);
    expect(report.parity.greedyTokensEqual).toBe(true);
    expect(report.parity.teacherForcedTokens).toBeGreaterThan(5);
    const generation = JSON.parse(await readFile(join(out, 'generation_config.json'), 'utf8')) as Record<string, unknown>;
    expect(generation).toMatchObject({ num_beams: 1, do_sample: false });
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as { model_type: string; encoder: { model_type: string }; decoder: { model_type: string } };
    expect([config.model_type, config.encoder.model_type, config.decoder.model_type]).toEqual(['vision-encoder-decoder', 'vit', 'gpt2']);
    const tokenizer = JSON.parse(await readFile(join(out, 'tokenizer.json'), 'utf8')) as { model: { type: string } };
    expect(tokenizer.model.type).toBe('BPE');
    const past = await ort.InferenceSession.create(join(out, 'decoder_with_past_model.onnx'));
    expect(past.inputNames).toEqual(['input_ids', ...[0, 1].flatMap((i) => ['decoder.key', 'decoder.value', 'encoder.key', 'encoder.value'].map((k) => `past_key_values.${i}.${k}`))]);
    await past.release();
    expect(report.loaded).toBeNull();
  }, 240_000);

  test('a hf-vision-encoder-decoder save_pretrained folder (random weights) is read as saved: the encoder graph gives that model\'s own output', async () => {
    const folder = join(dir, 'hf-folder');
    const expectedFile = join(dir, 'hf-folder.expected.f32');
    const made = await run(python, [join(PYTHON_DIR, 'make_fixture.py'), '--layout', 'hf-save-pretrained', '--seed', '5', '--out', folder, '--expected', expectedFile], { cwd: PYTHON_DIR });
    expect(made.code).toBe(0);
    const out = join(dir, 'hf-from-folder');
    const report = await importEncoderDecoder({ format: 'hf-vision-encoder-decoder', checkpoint: folder, randomInit: false, out, python, keepParity: true });
    expect(report.parity.greedyTokensEqual).toBe(true);
    const session = await ort.InferenceSession.create(join(out, 'encoder_model.onnx'));
    const shapes = JSON.parse(await readFile(join(out, '.parity', 'shapes.json'), 'utf8')) as { input: { shape: number[] } };
    const result = await session.run({ pixel_values: new ort.Tensor('float32', await readF32(join(out, '.parity', 'pixel_values.f32')), shapes.input.shape) });
    await session.release();
    expect(maxAbsDiff(result.last_hidden_state!.data as Float32Array, await readF32(expectedFile))).toBeLessThanOrEqual(1e-4);
  }, 240_000);

  test('the DenseNet-121 definition has torchvision\'s published parameter count, adjusted for input channels and labels', async () => {
    // torchvision documents densenet121 (3 channels, 1000 classes) as 7,978,856 parameters.
    const r = await run(python, ['-c', 'from densenet import DenseNet121\nfor c, k in ((3, 1000), (1, 18), (3, 14)): print(sum(p.numel() for p in DenseNet121(k, c).parameters()))'], { cwd: PYTHON_DIR });
    expect(r.stdout.trim().split('\n').map(Number)).toEqual([7_978_856, 7_978_856 - 1_025_000 + 18_450 - 2 * 64 * 49, 7_978_856 - 1_025_000 + 14_350]);
  }, 60_000);
});
