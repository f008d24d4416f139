// The importers end to end on the real DenseNet-121 architecture and a tiny ViT + GPT-2 with RANDOM
// WEIGHTS: no real checkpoint or report generator is downloaded or used anywhere here. The checkpoint-layout tests write random weights
// in the layouts torchxrayvision's and CheXNet's release files have (python/make_fixture.py).
// Needs the importers' Python environment (npm run model:import -- --setup); skipped without it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModelPackage, modelManifestV2Schema, type ModelManifestV2 } from '@cxr/inference';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { importEncoderDecoder } from '../src/import-encoder-decoder.ts';
import { importModel, ImportModelError, type ImportFormat } from '../src/import-model.ts';
import { DEFAULT_VENV_DIR, probeEnv, PYTHON_DIR, REPO_ROOT, run } from '../src/python-env.ts';

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

  // The encoder-decoder tests: a tiny ViT + GPT-2 built from configs with RANDOM WEIGHTS (nothing
  // downloaded, no real report generator), on the shipped phantom-trained classifier package.
  const classifier = join(REPO_ROOT, 'models', 'chexnet-phantom');

  test('hf-vision-encoder-decoder --random-init (random weights, not a real model) writes one v2 package with the classifier: it loads, analyses phantoms with text, and generates transformers\' tokens', async () => {
    const out = join(dir, 'hf-random');
    const report = await importEncoderDecoder({ format: 'hf-vision-encoder-decoder', randomInit: true, classifier, out, python, keepParity: true });
    console.log(`[importers] hf-vision-encoder-decoder random-init: parity ${JSON.stringify(report.parity.onnxruntimePython)}, node ${JSON.stringify(report.parity.onnxruntimeNode.maxAbsDiff)}, generate ${JSON.stringify(report.parity.generate)}, timings ${JSON.stringify(report.timings)}`);
    for (const [graph, diff] of Object.entries(report.parity.onnxruntimePython)) expect(diff, graph).toBeLessThanOrEqual(1e-4);
    expect(report.parity.onnxruntimeNode.pass).toBe(true);
    expect(report.parity.greedyTokensEqual).toBe(true);
    expect(report.parity.teacherForcedTokens).toBeGreaterThan(5);
    // The two-graph Node generation against transformers' generate() (PyTorch) on both phantoms, greedy and 3 beams.
    expect(report.parity.generate.map((g) => [g.name, g.idsEqual])).toEqual([['written', true], ['beam-3', true]]);
    const fixture = JSON.parse(await readFile(join(out, '.parity', 'generate.json'), 'utf8')) as { variants: { ids: number[][] }[] };
    const [greedyIds, beamIds] = fixture.variants.map((v) => v.ids);
    expect(greedyIds![0], 'the two phantoms get different tokens').not.toEqual(greedyIds![1]);
    expect(new Set(greedyIds![1]).size, 'tokens vary along the text').toBeGreaterThan(3);
    expect(beamIds, 'beam search chose other tokens for some phantom, so matching it checks beam search').not.toEqual(greedyIds);

    const m = await manifestOf(out);
    const own = JSON.parse(await readFile(join(classifier, 'manifest.json'), 'utf8')) as ModelManifestV2;
    expect(m.text).toEqual({
      decoder: 'hf-encoder-decoder', encoderFile: 'encoder_model.onnx', encoderOutput: 'last_hidden_state', decoderFile: 'decoder_model.onnx', decoderWithPastFile: 'decoder_with_past_model.onnx',
      tokenizer: 'tokenizer.json', config: 'config.json', generationConfig: 'generation_config.json', preprocessorConfig: 'preprocessor_config.json',
    });
    expect(Object.keys(m.files).sort()).toEqual([...Object.keys(own.files), 'config.json', 'decoder_model.onnx', 'decoder_with_past_model.onnx', 'encoder_model.onnx', 'generation_config.json', 'preprocessor_config.json', 'tokenizer.json'].sort());
    for (const [name, entry] of Object.entries(own.files)) expect(m.files[name], name).toEqual(entry);
    for (const key of ['input', 'outputs', 'scores', 'heatmaps', 'labels', 'thresholds', 'ood'] as const) expect(m[key], key).toEqual(modelManifestV2Schema.parse(own)[key]);
    expect(m.intendedUse).toMatch(/^RANDOM WEIGHTS/);
    expect(m.modelCard).toMatchObject({ classifier: { id: 'chexnet-phantom' }, textModel: { source: { kind: 'random-init' } }, syntheticOrRandom: true });

    // The package itself, loaded as the worker loads it: scores and heatmaps from the classifier, text from the export.
    const pkg = await loadModelPackage(out);
    try {
      const p = generatePhantom({ seed: 77, size: 300, aspect: 1.1 });
      const [a] = await pkg.analyse([{ width: p.width, height: p.height, data: toUint16(p) }]);
      expect(a!.scope.inScope).toBe(true);
      expect(a!.findings.length).toBe(own.labels.filter((l) => l.trained !== false).length);
      expect(a!.text.findings.length).toBeGreaterThan(0);
    } finally {
      await pkg.close();
    }
    expect(report.phantoms.map((ph) => [ph.inScope, ph.textEqual])).toEqual([[true, true], [true, true]]);
    const past = await ort.InferenceSession.create(join(out, 'decoder_with_past_model.onnx'));
    expect(past.inputNames).toEqual(['input_ids', ...[0, 1].flatMap((i) => ['decoder.key', 'decoder.value', 'encoder.key', 'encoder.value'].map((k) => `past_key_values.${i}.${k}`))]);
    await past.release();
  }, 240_000);

  test('hf-vision-encoder-decoder without --classifier is refused, naming the option', async () => {
    const error = await importEncoderDecoder({ format: 'hf-vision-encoder-decoder', randomInit: true, out: join(dir, 'hf-no-classifier'), python }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportModelError);
    expect((error as Error).message).toMatch(/^hf-vision-encoder-decoder needs --classifier <v2 package dir>/);
  });

  test('a hf-vision-encoder-decoder save_pretrained folder (random weights) is read as saved: the encoder graph gives that model\'s own output on the classifier\'s tensor', async () => {
    const folder = join(dir, 'hf-folder');
    const expectedFile = join(dir, 'hf-folder.expected.f32');
    const made = await run(python, [join(PYTHON_DIR, 'make_fixture.py'), '--layout', 'hf-save-pretrained', '--seed', '5', '--out', folder, '--expected', expectedFile], { cwd: PYTHON_DIR });
    expect(made.code).toBe(0);
    const out = join(dir, 'hf-from-folder');
    const report = await importEncoderDecoder({ format: 'hf-vision-encoder-decoder', checkpoint: folder, randomInit: false, classifier, out, python });
    expect(report.parity.greedyTokensEqual).toBe(true);
    expect(report.parity.generate.every((g) => g.idsEqual)).toBe(true);
    // The encoder graph takes the classifier's tensor x and applies pixel_values = scale*x + shift:
    // fed x = (pixel_values - shift) / scale it must give the folder's own encoder output on pixel_values.
    const { scale, shift } = report.encoderInput;
    const px = await readF32(expectedFile.replace('.f32', '.pixel_values.f32'));
    const plane = 224 * 224;
    const x = px.map((v, i) => (v - shift[Math.floor(i / plane) % 3]!) / scale[Math.floor(i / plane) % 3]!);
    const session = await ort.InferenceSession.create(join(out, 'encoder_model.onnx'));
    const result = await session.run({ image: new ort.Tensor('float32', x, [2, 3, 224, 224]) });
    await session.release();
    expect(maxAbsDiff(result.last_hidden_state!.data as Float32Array, await readF32(expectedFile))).toBeLessThanOrEqual(1e-4);
  }, 240_000);

  test('a save_pretrained folder whose encoder cannot read the classifier\'s tensor (1 channel against 3) is refused, saying why', async () => {
    const folder = join(dir, 'hf-folder-1ch');
    const made = await run(python, [join(PYTHON_DIR, 'make_fixture.py'), '--layout', 'hf-save-pretrained', '--channels', '1', '--out', folder, '--expected', join(dir, 'hf-1ch.f32')], { cwd: PYTHON_DIR });
    expect(made.code).toBe(0);
    const error = await importEncoderDecoder({ format: 'hf-vision-encoder-decoder', checkpoint: folder, randomInit: false, classifier, out: join(dir, 'hf-1ch'), python }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ImportModelError);
    expect((error as Error).message).toMatch(/the encoder takes 1 channel\(s\), the classifier's input has 3: the encoder cannot read the classifier's tensor/);
  }, 120_000);

  test('the DenseNet-121 definition has torchvision\'s published parameter count, adjusted for input channels and labels', async () => {
    // torchvision documents densenet121 (3 channels, 1000 classes) as 7,978,856 parameters.
    const r = await run(python, ['-c', 'from densenet import DenseNet121\nfor c, k in ((3, 1000), (1, 18), (3, 14)): print(sum(p.numel() for p in DenseNet121(k, c).parameters()))'], { cwd: PYTHON_DIR });
    expect(r.stdout.trim().split('\n').map(Number)).toEqual([7_978_856, 7_978_856 - 1_025_000 + 18_450 - 2 * 64 * 49, 7_978_856 - 1_025_000 + 14_350]);
  }, 60_000);
});
