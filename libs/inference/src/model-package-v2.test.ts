import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { classActivationMaps, parseCamWeights } from './cam.ts';
import { ModelPackageError } from './errors.ts';
import { cropHeatmap } from './heatmap.ts';
import type { ModelManifestV2 } from './manifest.ts';
import { loadModelPackage, manifestPreprocessing } from './model-package.ts';
import { loadModelPackageInThread } from './model-thread.ts';
import type { PresentationImage } from './preprocess.ts';
import { TINY, TINY_BIAS, TINY_WEIGHT, tinyGraph, writeTinyPackage, type TinyOptions } from './tiny-package.test-support.ts';

// These packages are tiny graphs with hand-set weights (tiny-package.test-support.ts), built at
// test time: no real model and no real weights are used.

/** 48×32, black, with a bright 16×16 block over image x 24..40, y 0..16 (the patient's left, upper part). */
function blockImage(): PresentationImage {
  const [w, h] = [48, 32];
  const data = new Uint16Array(w * h);
  for (let y = 0; y < 16; y++) for (let x = 24; x < 40; x++) data[y * w + x] = 65535;
  return { width: w, height: h, data };
}

const dirs: string[] = [];
async function tinyPackage(options: TinyOptions = {}, edit?: (m: ModelManifestV2) => void): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tiny-v2-'));
  dirs.push(dir);
  await writeTinyPackage(dir, options, edit);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

describe('a v2 classifier package with CAM heatmaps and templated text (torchxrayvision layout)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tinyPackage();
  });

  test('its probabilities are the sigmoid of the graph logits, and its heatmaps the CAMs of the feature map and shipped weights', async () => {
    const pkg = await loadModelPackage(dir);
    try {
      const image = blockImage();
      const [analysis] = await pkg.analyse([image]);
      // The same graph run directly on the same tensor.
      const prep = manifestPreprocessing(pkg.manifest);
      const tensor = new Float32Array(prep.channels * prep.size * prep.size);
      const box = await prep.into(image, tensor);
      const session = await ort.InferenceSession.create(tinyGraph(1, 1024, false));
      const out = await session.run({ image: new ort.Tensor('float32', tensor, [1, 1, TINY.size, TINY.size]) });
      await session.release();
      const logits = out.logits!.data as Float32Array;
      const features = out.features!.data as Float32Array;
      const cells = TINY.grid * TINY.grid;
      const weights = parseCamWeights(new TextEncoder().encode(JSON.stringify({ weight: TINY_WEIGHT, bias: TINY_BIAS })), 'json', TINY.labels, TINY.channels, 'w');
      const cam = classActivationMaps(features, 1, cells, weights, false);
      expect(analysis!.scope.inScope).toBe(true);
      expect(analysis!.findings).toHaveLength(TINY.labels);
      analysis!.findings.forEach((f, k) => {
        expect(f.probability).toBeCloseTo(sigmoid(logits[k]!), 6);
        // The CAM by hand: the weighted sum of the feature map, then the sigmoid.
        const byHand = new Float32Array(cells);
        for (let p = 0; p < cells; p++) {
          let v = TINY_BIAS[k]!;
          for (let c = 0; c < TINY.channels; c++) v += TINY_WEIGHT[k]![c]! * features[c * cells + p]!;
          byHand[p] = sigmoid(v);
          expect(cam[k * cells + p]).toBeCloseTo(v, 5);
        }
        const expected = cropHeatmap(byHand, TINY.grid, TINY.size, box);
        expect(f.heatmap.width).toBe(expected.width);
        expect(f.heatmap.height).toBe(expected.height);
        for (let i = 0; i < expected.data.length; i++) expect(f.heatmap.data[i]).toBeCloseTo(expected.data[i]!, 5);
      });
    } finally {
      await pkg.close();
    }
  });

  test('the heatmap lands on the bright block of the original image through the inverse of the centre crop', async () => {
    const pkg = await loadModelPackage(dir);
    try {
      const [analysis] = await pkg.analyse([blockImage()]);
      const effusion = analysis!.findings.find((f) => f.code === 'pleural_effusion')!;
      expect(effusion.positive).toBe(true);
      // The block covers image x 24..40 of 48, y 0..16 of 32.
      expect(effusion.peak.x).toBeGreaterThan(24 / 48);
      expect(effusion.peak.x).toBeLessThan(40 / 48);
      expect(effusion.peak.y).toBeLessThan(16 / 32);
      const { width, height, data } = effusion.heatmap;
      expect([width, height]).toEqual([6, 4]); // one value per 8 px cell over the whole 48×32 image
      const at = (x: number, y: number): number => data[y * width + x]!;
      expect(at(3, 0)).toBeGreaterThan(0.9); // on the block
      expect(at(4, 1)).toBeGreaterThan(0.9);
      expect(at(2, 3)).toBeLessThan(0.5); // beside it
      expect(at(0, 0)).toBe(0); // cut away by the crop: no evidence
      expect(at(5, 2)).toBe(0);
    } finally {
      await pkg.close();
    }
  });

  test('keeps a label without a code of ours under its own name, and writes structured-findings text from the calls', async () => {
    const pkg = await loadModelPackage(dir);
    try {
      const [analysis] = await pkg.analyse([blockImage()]);
      expect(analysis!.findings.map((f) => [f.code, f.display, f.positive])).toEqual([
        ['pleural_effusion', 'Pleural effusion', true],
        ['pneumothorax', 'Pneumothorax', false],
        ['lung_opacity', 'Lung Opacity', true],
      ]);
      expect(analysis!.text).toEqual({
        findings: 'Left pleural effusion. Lung Opacity. No pneumothorax.',
        impression: 'Left pleural effusion. Lung Opacity.',
        complete: true,
      });
      expect(pkg.hasOodDetector).toBe(false);
    } finally {
      await pkg.close();
    }
  });
});

describe('a label the model was not trained to read (trained: false)', () => {
  test('gets no finding, no heatmap and no sentence, and the other labels are unchanged', async () => {
    const [full, partial] = await Promise.all([loadModelPackage(await tinyPackage()), loadModelPackage(await tinyPackage({}, (m) => (m.labels[1]!.trained = false)))]);
    try {
      const [[a], [b]] = await Promise.all([full.analyse([blockImage()]), partial.analyse([blockImage()])]);
      expect(a!.findings.map((f) => f.code)).toEqual(['pleural_effusion', 'pneumothorax', 'lung_opacity']);
      expect(b!.findings.map((f) => f.code)).toEqual(['pleural_effusion', 'lung_opacity']);
      expect(b!.text.findings).not.toMatch(/pneumothorax/i);
      for (const f of b!.findings) {
        const same = a!.findings.find((x) => x.code === f.code)!;
        expect(f.probability).toBe(same.probability);
        expect([...f.heatmap.data]).toEqual([...same.heatmap.data]);
      }
    } finally {
      await Promise.all([full.close(), partial.close()]);
    }
  });

  test('a package whose every label is untrained is refused', async () => {
    const err = await loadModelPackage(await tinyPackage({}, (m) => m.labels.forEach((l) => (l.trained = false)))).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackageError);
    expect((err as Error).message).toMatch(/every label is marked trained: false/);
  });
});

describe('a v2 package in a model thread (how the worker runs it)', () => {
  test('gives the same findings, heatmaps and text as in process', async () => {
    const dir = await tinyPackage();
    const [local, threaded] = await Promise.all([loadModelPackage(dir), loadModelPackageInThread(dir)]);
    try {
      const [a, b] = await Promise.all([local.analyse([blockImage()]), threaded.analyse([blockImage()])]);
      const strip = (r: typeof a) => r.map(({ timingsMs: _, ...rest }) => rest);
      expect(a[0]!.findings).toHaveLength(TINY.labels);
      expect(strip(b)).toEqual(strip(a));
      expect(threaded.manifest).toEqual(local.manifest);
    } finally {
      await Promise.all([local.close(), threaded.close()]);
    }
  });
});

describe('other v2 layouts', () => {
  test('a 3-channel mean-std classifier (CheXNet layout) with probabilities from the graph is not given a second sigmoid', async () => {
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const dir = await tinyPackage({ channels: 3, resize: { method: 'stretch', kernel: 'linear' }, normalisation: { method: 'mean-std', mean, std }, scale: 1, scores: 'probabilities', weightsFormat: 'float32-le' });
    const pkg = await loadModelPackage(dir);
    try {
      const image = blockImage();
      const [analysis] = await pkg.analyse([image]);
      const prep = manifestPreprocessing(pkg.manifest);
      expect(prep.channels).toBe(3);
      const tensor = new Float32Array(3 * TINY.size * TINY.size);
      await prep.into(image, tensor);
      const session = await ort.InferenceSession.create(tinyGraph(3, 1, true));
      const out = await session.run({ image: new ort.Tensor('float32', tensor, [1, 3, TINY.size, TINY.size]) });
      await session.release();
      const p = out.probabilities!.data as Float32Array;
      expect(analysis!.findings).toHaveLength(TINY.labels);
      analysis!.findings.forEach((f, k) => expect(f.probability).toBeCloseTo(p[k]!, 6));
      // Stretched, the 48×32 image fills the input: its heatmap covers it all, nothing is cut away.
      expect(analysis!.findings[0]!.heatmap.data.every((v) => v > 0)).toBe(true);
    } finally {
      await pkg.close();
    }
  });

  test('an hf-encoder-decoder package whose decoder graph is not a decoder with a cache is refused, naming what is missing', async () => {
    // The real layout is tested on the shipped reference-cxr-vlm package (models/reference-cxr-vlm).
    const { createHash } = await import('node:crypto');
    const { cp, writeFile } = await import('node:fs/promises');
    const json: Record<string, string> = {
      'config.json': JSON.stringify({ model_type: 'vision-encoder-decoder' }),
      'generation_config.json': JSON.stringify({ decoder_start_token_id: 0, eos_token_id: 1, max_length: 8 }),
      'tokenizer.json': JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null, model: { type: 'WordLevel', vocab: { a: 0, b: 1 }, unk_token: 'a' } }),
    };
    const dir = await tinyPackage({}, (m) => {
      m.files['decoder_model_merged.onnx'] = { sha256: m.files['model.onnx']!.sha256, bytes: m.files['model.onnx']!.bytes };
      for (const [name, text] of Object.entries(json)) m.files[name] = { sha256: createHash('sha256').update(text).digest('hex'), bytes: Buffer.byteLength(text) };
      m.text = { decoder: 'hf-encoder-decoder', encoderFile: 'model.onnx', encoderOutput: 'features', decoderFile: 'decoder_model_merged.onnx', tokenizer: 'tokenizer.json', config: 'config.json', generationConfig: 'generation_config.json' };
    });
    await cp(join(dir, 'model.onnx'), join(dir, 'decoder_model_merged.onnx'));
    for (const [name, text] of Object.entries(json)) await writeFile(join(dir, name), text);
    const err = await loadModelPackage(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackageError);
    expect((err as Error).message).toMatch(/^decoder_model_merged\.onnx: input 'input_ids' missing from the decoder graph/);
  });
});

describe('loadModelPackage refuses a broken v2 package', () => {
  const refusal = async (edit: (m: ModelManifestV2) => void, message: RegExp, options: TinyOptions = {}): Promise<void> => {
    const err = await loadModelPackage(await tinyPackage(options, edit)).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackageError);
    expect((err as Error).message).toMatch(message);
  };

  test('refuses scores whose width is not the number of labels', () =>
    refusal((m) => m.labels.pop(), /^manifest\.json: invalid \(.*scores 'logits' must be \[N, 2\]/));
  test('refuses mean-std without one mean and std per channel', () =>
    refusal((m) => (m.input.normalisation = { method: 'mean-std', mean: [0.5], std: [0.2] }), /mean-std needs 3 mean and std values/, { channels: 3, normalisation: { method: 'mean-std', mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] } }));
  test('refuses CAM weights that are not in files', () =>
    refusal((m) => delete m.files['classifier.json'], /heatmaps\.weights: classifier\.json is not listed in files/));
  test('refuses a feature map whose channels are not the CAM weights\' channels', () =>
    refusal((m) => { if (m.heatmaps.method === 'cam') m.heatmaps.channels = 5; }, /featureMap 'features' must be \[N, 5, g, g\]/));
  test('refuses a label code twice and a label without a threshold', async () => {
    await refusal((m) => (m.labels[2]!.code = 'pneumothorax'), /label code pneumothorax appears twice/);
    await refusal((m) => delete m.thresholds.values.lung_opacity, /no threshold for label lung_opacity/);
  });
  test('refuses a manifest of neither format', () =>
    refusal((m) => delete (m as Partial<ModelManifestV2>).formatVersion, /neither schemaVersion 1 nor formatVersion 2/));
  test('refuses an input that is not float32', () =>
    refusal((m) => (m.input.dtype = 'int64'), /input\.dtype must be float32/));
  test('refuses an input shape that does not match its channels', () =>
    refusal((m) => (m.input.shape = ['N', 3, 32, 32]), /input\.shape\[1\] is 3 but channels is 1/));
});
