// Optimum's two-graph decoder layout (decoder_model.onnx for the first step, decoder_with_past_model.onnx
// after, the cross-attention cache carried from the first step) against the one-graph layout, on toy
// decoders written here (tiny-onnx.test-support.ts) that compute the same function: each step's
// logits depend on every token so far (the self-attention cache) and on the encoder states (the
// cross-attention cache). The real export is checked against transformers' generate() by the
// importer's tests (models/importers/test/import-model.int.test.ts, tiny random ViT + GPT-2).
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ModelPackageError } from './errors.ts';
import { cacheLayoutOf, generate, generationSettingsOf, twoGraphCacheLayoutOf } from './hf-generation.ts';
import { encodeOnnx, type OnnxGraph, type OnnxNode } from './tiny-onnx.test-support.ts';

const V = 7;
const D = 5;

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
    ['greedy', { decoder_start_token_id: 0, eos_token_id: 5, max_new_tokens: 12 }, [false, true, false]],
    ['3-beam search', { decoder_start_token_id: 0, eos_token_id: 5, max_new_tokens: 12, num_beams: 3 }, [false, false, false]],
    ['greedy, repetition penalty and no-repeat bigrams', { decoder_start_token_id: 0, eos_token_id: 5, max_new_tokens: 12, repetition_penalty: 1.5, no_repeat_ngram_size: 2 }, [false, true, false]],
  ])('%s: the two graphs generate the tokens the one graph does, for each image of a batch', async (_name, config, stopped) => {
    const settings = generationSettingsOf(config, 'generation_config.json');
    const enc = encoderStates(3, 4);
    const expected = await generate(one, cacheLayoutOf(one, 'decoder_model_merged.onnx'), enc, settings);
    const got = await generate({ first, withPast }, twoGraphCacheLayoutOf(first, withPast, files), enc, settings);
    expect(got).toEqual(expected);
    // Not a degenerate case: the images differ, and the text is more than one token repeated.
    expect(new Set(expected.ids.map((r) => r.join(','))).size).toBeGreaterThan(1);
    expect(expected.ids.some((r) => new Set(r).size > 2)).toBe(true);
    expect(expected.stopped, 'which images stop at the stop token').toEqual(stopped);
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
