// The Node generation loop (greedy and beam search with the key/value cache, @cxr/inference)
// against two independent implementations on the shipped decoder graph:
// - transformers' own generate() in PyTorch (Python), whose tokens for 4 validation images'
//   encoder states (and the same states scaled down, where the decoder is less certain) are stored
//   in generation-fixture.json by train-hf-decoder.py --fixture, for
//   the shipped settings, beam search, a length penalty, no-repeat n-grams and a repetition penalty;
// - transformers.js (@huggingface/transformers) greedy decoding, end to end from the image tensor.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cacheLayoutOf, generate, generationSettingsOf, manifestPreprocessing, modelManifestV2Schema } from '@cxr/inference';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { referenceVlmModelDir } from './index.ts';

interface Fixture {
  shape: [number, number, number];
  states: number[];
  variants: { name: string; generationConfig: Record<string, unknown>; ids: number[][] }[];
}

let decoder: ort.InferenceSession;
let fixture: Fixture;
beforeAll(async () => {
  decoder = await ort.InferenceSession.create(join(referenceVlmModelDir, 'decoder_model_merged.onnx'), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  fixture = JSON.parse(await readFile(join(referenceVlmModelDir, 'src', 'generation-fixture.json'), 'utf8')) as Fixture;
});
afterAll(async () => {
  await decoder?.release();
});

describe('against transformers generate() in PyTorch', () => {
  const names = ['shipped', 'beam-3', 'beam-4-length-penalty', 'greedy-no-repeat-3-penalty-1.5', 'beam-3-no-repeat-4', 'beam-3-early-stopping'];
  test.each(names)('%s: the same tokens for every image', async (name) => {
    const variant = fixture.variants.find((v) => v.name === name)!;
    expect(variant, `fixture has ${name}`).toBeDefined();
    const states = new ort.Tensor('float32', Float32Array.from(fixture.states), fixture.shape);
    const settings = generationSettingsOf(variant.generationConfig, `${name} settings`);
    const { ids } = await generate(decoder, cacheLayoutOf(decoder, 'decoder_model_merged.onnx'), states, settings);
    expect(ids).toEqual(variant.ids);
  });
});

test('every other setting changes some image\'s tokens from greedy decoding, so matching it checks that setting', () => {
  const greedy = fixture.variants.find((v) => v.name === 'shipped')!.ids;
  for (const v of fixture.variants.filter((x) => x.name !== 'shipped')) expect(v.ids, v.name).not.toEqual(greedy);
});

test('the shipped generation_config.json is what the fixture calls shipped', async () => {
  const shipped = JSON.parse(await readFile(join(referenceVlmModelDir, 'generation_config.json'), 'utf8')) as Record<string, unknown>;
  const variant = fixture.variants.find((v) => v.name === 'shipped')!;
  expect(generationSettingsOf(shipped, 'generation_config.json')).toEqual(generationSettingsOf(variant.generationConfig, 'fixture'));
});

test('greedy decoding gives the tokens transformers.js gives, from the same image tensor through encoder_model.onnx', async () => {
  const { env, VisionEncoderDecoderModel, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = join(referenceVlmModelDir, '..');
  const tjs = await VisionEncoderDecoderModel.from_pretrained('reference-cxr-vlm', { subfolder: '', dtype: 'fp32', device: 'cpu' });
  const manifest = modelManifestV2Schema.parse(JSON.parse(await readFile(join(referenceVlmModelDir, 'manifest.json'), 'utf8')));
  const prep = manifestPreprocessing(manifest);
  const per = prep.size * prep.size;
  const N = 4;
  const batch = new Float32Array(N * per);
  for (let n = 0; n < N; n++) {
    const p = generatePhantom({ seed: 4_200_000 + n, size: 256, aspect: 1 + n * 0.1 });
    await prep.into({ width: p.width, height: p.height, data: toUint16(p) }, batch.subarray(n * per, (n + 1) * per));
  }
  const encoder = await ort.InferenceSession.create(join(referenceVlmModelDir, 'encoder_model.onnx'), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const states = (await encoder.run({ pixel_values: new ort.Tensor('float32', batch, [N, 1, prep.size, prep.size]) })).last_hidden_state as ort.Tensor;
  await encoder.release();
  const settings = generationSettingsOf(JSON.parse(await readFile(join(referenceVlmModelDir, 'generation_config.json'), 'utf8')), 'generation_config.json');
  const ours = await generate(decoder, cacheLayoutOf(decoder, 'decoder_model_merged.onnx'), states, settings);
  const out = (await tjs.generate({ inputs: new Tensor('float32', batch, [N, 1, prep.size, prep.size]) })) as { tolist(): bigint[][] };
  const theirs = out.tolist().map((row) => {
    const ids = row.slice(1).map(Number);
    const stop = ids.findIndex((t) => settings.stopTokens.includes(t));
    return stop < 0 ? ids : ids.slice(0, stop);
  });
  await tjs.dispose();
  expect(ours.ids.every((row) => row.length > 10)).toBe(true);
  expect(ours.ids).toEqual(theirs);
});
