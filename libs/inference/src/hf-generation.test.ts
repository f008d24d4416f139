import { describe, expect, test } from 'vitest';
import { ModelPackageError } from './errors.ts';
import { applyRepetitionPenalty, banRepeatedNgrams, generationSettingsOf } from './hf-generation.ts';
import { splitAtMarker } from './hf-text.ts';

describe('generation_config.json', () => {
  test('greedy settings come from the file: start, stop, bound and processors', () => {
    const g = generationSettingsOf({ decoder_start_token_id: 1, eos_token_id: 2, max_length: 96, no_repeat_ngram_size: 3, repetition_penalty: 1.2, transformers_version: '5.18.0' }, 'generation_config.json');
    expect(g).toEqual({ startToken: 1, stopTokens: [2], maxNewTokens: 95, numBeams: 1, lengthPenalty: 1, earlyStopping: false, noRepeatNgramSize: 3, repetitionPenalty: 1.2 });
  });

  test('max_new_tokens wins over max_length, a list of stop tokens is kept, and bos stands in for a missing decoder start', () => {
    const g = generationSettingsOf({ bos_token_id: 0, eos_token_id: [2, 7], max_length: 96, max_new_tokens: 20, num_beams: 4, early_stopping: true }, 'g.json');
    expect(g).toMatchObject({ startToken: 0, stopTokens: [2, 7], maxNewTokens: 20, numBeams: 4, earlyStopping: true });
  });

  test('sampling, a missing bound and a missing start token are refused with the field named', () => {
    expect(() => generationSettingsOf({ decoder_start_token_id: 1, eos_token_id: 2, max_length: 9, do_sample: true }, 'g.json')).toThrow(/g\.json: invalid \(do_sample: do_sample is true: sampled text differs/);
    expect(() => generationSettingsOf({ decoder_start_token_id: 1, eos_token_id: 2 }, 'g.json')).toThrow(/max_length: neither max_length nor max_new_tokens/);
    expect(() => generationSettingsOf({ eos_token_id: 2, max_length: 9 }, 'g.json')).toThrow(/decoder_start_token_id: neither decoder_start_token_id nor bos_token_id/);
    expect(() => generationSettingsOf({ decoder_start_token_id: 1, max_length: 9 }, 'g.json')).toThrow(ModelPackageError);
    expect(() => generationSettingsOf({ decoder_start_token_id: 1, eos_token_id: 2, max_length: 1e9 }, 'g.json')).toThrow(/max_length/);
  });
});

describe('logits processors (as transformers applies them)', () => {
  test('the repetition penalty divides positive and multiplies negative scores of tokens already generated, once each', () => {
    const scores = Float32Array.from([2, -2, 4, 1]);
    applyRepetitionPenalty(scores, [0, 1, 1], 2);
    expect([...scores]).toEqual([1, -4, 4, 1]);
  });

  test('a token that would repeat an n-gram is banned; other tokens and shorter histories are left alone', () => {
    const scores = new Float32Array(6);
    banRepeatedNgrams(scores, [1, 2, 3, 1, 2], 3); // "1 2 3" seen: after "1 2", 3 is banned
    expect([...scores]).toEqual([0, 0, 0, -Infinity, 0, 0]);
    const short = new Float32Array(6);
    banRepeatedNgrams(short, [1], 3);
    expect([...short]).toEqual([0, 0, 0, 0, 0, 0]);
    const bigram = new Float32Array(6);
    banRepeatedNgrams(bigram, [4, 5, 4], 2); // "4 5" seen: after "4", 5 is banned
    expect(bigram[5]).toBe(-Infinity);
  });
});

test('the generated text splits at the impression marker, and without it all of it is findings', () => {
  expect(splitAtMarker(' No pneumothorax.  IMPRESSION: Normal. ', 'IMPRESSION:')).toEqual({ findings: 'No pneumothorax.', impression: 'Normal.' });
  expect(splitAtMarker('No pneumothorax.', 'IMPRESSION:')).toEqual({ findings: 'No pneumothorax.', impression: '' });
  expect(splitAtMarker('No pneumothorax.', undefined)).toEqual({ findings: 'No pneumothorax.', impression: '' });
});
