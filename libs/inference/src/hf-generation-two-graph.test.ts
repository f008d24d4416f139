// Optimum's two-graph decoder layout (decoder_model.onnx for the first step, decoder_with_past_model.onnx
// after, the cross-attention cache carried from the first step) against the one-graph layout, on toy
// decoders written here (tiny-onnx.test-support.ts) that compute the same function: each step's
// logits depend on every token so far (the self-attention cache) and on the encoder states (the
// cross-attention cache). The real export is checked against transformers' generate() by the
// importer's tests (models/importers/test/import-model.int.test.ts, tiny random ViT + GPT-2).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ModelPackageError } from './errors.ts';
import { cacheLayoutOf, generate, generationSettingsOf, twoGraphCacheLayoutOf } from './hf-generation.ts';
import { loadModelPackage } from './model-package.ts';
import type { PresentationImage } from './preprocess.ts';
import { encodeOnnx, type OnnxGraph, type OnnxNode } from './tiny-onnx.test-support.ts';
import { TINY, writeTinyPackage } from './tiny-package.test-support.ts';

const V = 7;
const D = 4;

/** Fixed pseudo-random weights (a small LCG), so the toy decoders' tokens vary with the input. */
function weights(n: number, seed: number): Float32Array {
  let x = seed;
  return Float32Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return (x / 2147483648) * 4 - 2;
  });
}

const initializers = [
  { name: 'embedding', dims: [V, D], data: weights(V * D, 1) },
  { name: 'w', dims: [D, V], data: weights(D * V, 2) },
  { name: 'u', dims: [D, V], data: weights(D * V, 3) },
];

/** The shared step: present self cache = past ⧺ embedding of the token; logits from its mean, and the cross cache's mean. */
function stepNodes(cross: string, withPastSelf = true): OnnxNode[] {
  return [
    { op: 'Gather', inputs: ['embedding', 'input_ids'], outputs: ['emb'] },
    { op: 'Unsqueeze', inputs: ['emb'], outputs: withPastSelf ? ['emb4'] : ['present.0.decoder.key'], attributes: [{ name: 'axes', ints: [1] }] },
    ...(withPastSelf ? [{ op: 'Concat', inputs: ['past_key_values.0.decoder.key', 'emb4'], outputs: ['present.0.decoder.key'], attributes: [{ name: 'axis', int: 2 }] }] : []),
    { op: 'ReduceMean', inputs: ['present.0.decoder.key'], outputs: ['h'], attributes: [{ name: 'axes', ints: [1, 2] }, { name: 'keepdims', int: 0 }] },
    { op: 'ReduceMean', inputs: [cross], outputs: ['c'], attributes: [{ name: 'axes', ints: [1, 2] }, { name: 'keepdims', int: 0 }] },
    { op: 'Mul', inputs: ['h', 'c'], outputs: ['hc'] },
    { op: 'MatMul', inputs: ['hc', 'w'], outputs: ['l1'] },
    { op: 'MatMul', inputs: ['h', 'u'], outputs: ['l2'] },
    { op: 'Add', inputs: ['l1', 'l2'], outputs: ['l'] },
    { op: 'Unsqueeze', inputs: ['l'], outputs: ['logits'], attributes: [{ name: 'axes', ints: [1] }] },
  ];
}

const ids = { name: 'input_ids', shape: ['N', 1], type: 'int64' as const };
const states = { name: 'encoder_hidden_states', shape: ['N', 'T', D] };
const pastSelf = { name: 'past_key_values.0.decoder.key', shape: ['N', 1, 'S', D] };
const pastCross = { name: 'past_key_values.0.encoder.key', shape: ['N', 1, 'T', D] };
const logits = { name: 'logits', shape: ['N', 1, V] };
const presentSelf = { name: 'present.0.decoder.key', shape: ['N', 1, 'S1', D] };
const presentCross = { name: 'present.0.encoder.key', shape: ['N', 1, 'T', D] };
const crossFromStates: OnnxNode = { op: 'Unsqueeze', inputs: ['encoder_hidden_states'], outputs: ['present.0.encoder.key'], attributes: [{ name: 'axes', ints: [1] }] };

/** One graph (transformers.js style): the cross cache recomputed from the encoder states every step. */
const oneGraph: OnnxGraph = {
  opset: 11, initializers, inputs: [ids, states, pastSelf, pastCross], outputs: [logits, presentSelf, presentCross],
  nodes: [crossFromStates, ...stepNodes('present.0.encoder.key')],
};
/** Optimum's decoder_model.onnx: no past inputs; returns every present (the self cache starts empty). */
const firstGraph: OnnxGraph = {
  opset: 11, initializers, inputs: [ids, states], outputs: [logits, presentSelf, presentCross],
  nodes: [crossFromStates, ...stepNodes('present.0.encoder.key', false)],
};
/** Optimum's decoder_with_past_model.onnx: the cross cache as an input, only the self cache returned. */
const withPastGraph: OnnxGraph = {
  opset: 11, initializers, inputs: [ids, pastSelf, pastCross], outputs: [logits, presentSelf],
  nodes: stepNodes('past_key_values.0.encoder.key'),
};

const create = (g: OnnxGraph): Promise<ort.InferenceSession> => ort.InferenceSession.create(encodeOnnx(g), { executionProviders: ['cpu'] });

let one: ort.InferenceSession;
let first: ort.InferenceSession;
let withPast: ort.InferenceSession;
beforeAll(async () => {
  [one, first, withPast] = await Promise.all([create(oneGraph), create(firstGraph), create(withPastGraph)]);
});
afterAll(async () => {
  await Promise.all([one, first, withPast].map((s) => s?.release()));
});

const files = { first: 'decoder_model.onnx', withPast: 'decoder_with_past_model.onnx' };
const encoderStates = (N: number, T: number): ort.Tensor => new ort.Tensor('float32', weights(N * T * D, 9), [N, T, D]);

describe('Optimum two-graph decoder layout', () => {
  test('the layout pairs every past input with the first graph\'s present output, and marks the cross cache as carried (not returned after the first step)', () => {
    const layout = twoGraphCacheLayoutOf(first, withPast, files);
    expect(layout.graphs).toBe('two-graph');
    expect(layout.pairs.map((p) => [p.past, p.present, p.dims])).toEqual([
      ['past_key_values.0.decoder.key', 'present.0.decoder.key', [null, 1, null, D]],
      ['past_key_values.0.encoder.key', 'present.0.encoder.key', [null, 1, null, D]],
    ]);
    expect(withPast.outputNames).not.toContain('present.0.encoder.key');
    expect(layout.vocabularySize).toBe(V);
  });

  test.each([
    ['greedy', { decoder_start_token_id: 0, eos_token_id: 5, max_new_tokens: 12 }, [true, false, false]],
    ['3-beam search', { decoder_start_token_id: 0, eos_token_id: 5, max_new_tokens: 12, num_beams: 3 }, [true, true, false]],
    ['greedy, repetition penalty and no-repeat bigrams', { decoder_start_token_id: 0, eos_token_id: 5, max_new_tokens: 12, repetition_penalty: 1.5, no_repeat_ngram_size: 2 }, [true, true, true]],
  ])('%s: the two graphs generate the tokens the one graph does, for each image of a batch', async (_name, config, stopped) => {
    const settings = generationSettingsOf(config, 'generation_config.json');
    const enc = encoderStates(3, 4);
    const expected = await generate(one, cacheLayoutOf(one, 'decoder_model_merged.onnx'), enc, settings);
    const got = await generate({ first, withPast }, twoGraphCacheLayoutOf(first, withPast, files), enc, settings);
    expect(got).toEqual(expected);
    // Not a degenerate case: the images differ, and the text is more than one token repeated.
    expect(new Set(expected.ids.map((r) => r.join(','))).size).toBeGreaterThan(1);
    expect(expected.ids.some((r) => new Set(r).size > 2)).toBe(true);
    expect(expected.stopped, 'which images stop at the stop token (the others run to the bound)').toEqual(stopped);
  });

  test('the with-past graph gets the first step\'s cross cache: dropping it would change the tokens', async () => {
    // The same decoder with the cross cache zeroed after the first step generates other tokens, so
    // matching the one graph above shows the carried tensor is used.
    const settings = generationSettingsOf({ decoder_start_token_id: 0, eos_token_id: 5, max_new_tokens: 12 }, 'g.json');
    const enc = encoderStates(3, 4);
    const zeroing = await create({ ...withPastGraph, nodes: [{ op: 'Mul', inputs: ['past_key_values.0.encoder.key', 'zero'], outputs: ['zeroed'] }, ...stepNodes('zeroed')], initializers: [...initializers, { name: 'zero', dims: [1], data: new Float32Array([0]) }] });
    try {
      const right = await generate({ first, withPast }, twoGraphCacheLayoutOf(first, withPast, files), enc, settings);
      const wrong = await generate({ first, withPast: zeroing }, twoGraphCacheLayoutOf(first, zeroing, files), enc, settings);
      expect(wrong.ids).not.toEqual(right.ids);
    } finally {
      await zeroing.release();
    }
  });

  test('refuses a first-step graph that takes past inputs, and sessions that do not fit the layout', async () => {
    expect(() => twoGraphCacheLayoutOf(one, withPast, files)).toThrow(ModelPackageError);
    expect(() => twoGraphCacheLayoutOf(one, withPast, files)).toThrow(/^decoder_model\.onnx: the first-step graph takes past_key_values\.0\.decoder\.key: name the graph without past inputs/);
    expect(() => twoGraphCacheLayoutOf(first, first, files)).toThrow(/^decoder_with_past_model\.onnx: the with-past decoder graph takes no past_key_values\.\* inputs/);
    const settings = generationSettingsOf({ decoder_start_token_id: 0, eos_token_id: 6, max_new_tokens: 3 }, 'g.json');
    await expect(generate(first, twoGraphCacheLayoutOf(first, withPast, files), encoderStates(1, 2), settings)).rejects.toThrow(/two-graph cache layout needs the first-step and with-past sessions/);
  });

  test('a one-graph decoder without a cache points to decoderWithPastFile', () => {
    expect(() => cacheLayoutOf(first, 'decoder_model.onnx')).toThrow(/takes no past_key_values\.\* inputs.*name Optimum's decoder_with_past_model\.onnx as decoderWithPastFile/);
  });
});

describe('a package with Optimum\'s two-graph decoder (text.decoderWithPastFile)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  /** The tiny CAM classifier with an encoder graph (image → [N, 4, 4] states) and the toy decoders as its text. */
  async function textPackage(decoders: Record<string, OnnxGraph>, text: { decoderFile: string; decoderWithPastFile?: string }): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'two-graph-'));
    dirs.push(dir);
    const { size } = TINY;
    const encoder: OnnxGraph = {
      opset: 11,
      inputs: [{ name: 'image', shape: ['N', 1, size, size] }],
      outputs: [{ name: 'last_hidden_state', shape: ['N', 4, D] }],
      initializers: [{ name: 'scale', dims: [1], data: new Float32Array([1 / 512]) }],
      nodes: [
        { op: 'AveragePool', inputs: ['image'], outputs: ['p'], attributes: [{ name: 'kernel_shape', ints: [size / 4, size / 4] }, { name: 'strides', ints: [size / 4, size / 4] }] },
        { op: 'Mul', inputs: ['p', 'scale'], outputs: ['q'] },
        { op: 'ReduceMean', inputs: ['q'], outputs: ['last_hidden_state'], attributes: [{ name: 'axes', ints: [1] }, { name: 'keepdims', int: 0 }] },
      ],
    };
    const files: Record<string, Uint8Array> = {
      'encoder_model.onnx': encodeOnnx(encoder),
      ...Object.fromEntries(Object.entries(decoders).map(([name, g]) => [name, encodeOnnx(g)])),
      'tokenizer.json': new TextEncoder().encode(JSON.stringify({ version: '1.0', added_tokens: [], normalizer: null, pre_tokenizer: { type: 'Whitespace' }, post_processor: null, decoder: null, model: { type: 'WordLevel', vocab: Object.fromEntries('abcdefg'.split('').map((t, i) => [t, i])), unk_token: 'a' } })),
      'config.json': new TextEncoder().encode(JSON.stringify({ model_type: 'vision-encoder-decoder' })),
      'generation_config.json': new TextEncoder().encode(JSON.stringify({ decoder_start_token_id: 0, eos_token_id: 5, max_new_tokens: 12 })),
    };
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, name), bytes);
    await writeTinyPackage(dir, {}, (m) => {
      for (const [name, bytes] of Object.entries(files)) m.files[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length };
      m.text = { decoder: 'hf-encoder-decoder', encoderFile: 'encoder_model.onnx', encoderOutput: 'last_hidden_state', tokenizer: 'tokenizer.json', config: 'config.json', generationConfig: 'generation_config.json', ...text };
    });
    return dir;
  }

  /** Grey images with a bright block whose place differs per image, so the encoder states differ. */
  const images: PresentationImage[] = [0, 1, 2].map((k) => {
    const width = 40;
    const height = 48;
    const data = new Uint16Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = 8000 + 300 * ((x * (k + 1) + y) % 17) + (x > 8 * k && x < 8 * k + 14 && y > 10 ? 40000 : 0);
    return { width, height, data };
  });

  test('loads, and writes for each image the text the package with the one-graph decoder writes', async () => {
    const two = await loadModelPackage(await textPackage({ 'decoder_model.onnx': firstGraph, 'decoder_with_past_model.onnx': withPastGraph }, { decoderFile: 'decoder_model.onnx', decoderWithPastFile: 'decoder_with_past_model.onnx' }));
    const one = await loadModelPackage(await textPackage({ 'decoder_model_merged.onnx': oneGraph }, { decoderFile: 'decoder_model_merged.onnx' }));
    try {
      const [a, b] = await Promise.all([two.analyse(images), one.analyse(images)]);
      expect(a!.map((r) => r.scope.inScope)).toEqual([true, true, true]);
      expect(a!.map((r) => r.text)).toEqual(b!.map((r) => r.text));
      expect(new Set(a!.map((r) => r.text.findings)).size, 'the images get different texts').toBeGreaterThan(1);
      expect(a!.every((r) => r.text.findings.length > 0)).toBe(true);
    } finally {
      await Promise.all([two.close(), one.close()]);
    }
  });

  test('a with-past graph that is not the first graph\'s (its past has no present there) is refused at load, naming both files', async () => {
    const other: OnnxGraph = { ...withPastGraph, inputs: [ids, { ...pastSelf, name: 'past_key_values.1.decoder.key' }, pastCross], nodes: [{ op: 'Identity', inputs: ['past_key_values.1.decoder.key'], outputs: ['past_key_values.0.decoder.key'] }, ...stepNodes('past_key_values.0.encoder.key')] };
    const dir = await textPackage({ 'decoder_model.onnx': firstGraph, 'decoder_with_past_model.onnx': other }, { decoderFile: 'decoder_model.onnx', decoderWithPastFile: 'decoder_with_past_model.onnx' });
    const err = await loadModelPackage(dir).then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(ModelPackageError);
    expect((err as Error).message).toMatch(/^decoder_with_past_model\.onnx: input 'past_key_values\.1\.decoder\.key' has no matching output 'present\.1\.decoder\.key' in decoder_model\.onnx/);
    expect(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')).text.decoderWithPastFile).toBe('decoder_with_past_model.onnx');
  });
});
