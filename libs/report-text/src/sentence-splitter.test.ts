import { describe, expect, test } from 'vitest';
import { tokenKeys } from './phrase-matcher.ts';
import { splitSentences } from './sentence-splitter.ts';

const sentences = (text: string): string[] => splitSentences(text).map((s) => s.text);

describe('splitSentences', () => {
  test('splits at full stops and keeps abbreviations and decimals inside', () => {
    expect(sentences('A 1.5 cm nodule, e.g. a granuloma, is seen. No effusion.')).toEqual(['A 1.5 cm nodule, e.g. a granuloma, is seen.', 'No effusion.']);
  });

  test('does not end a sentence at the stop after a unit', () => {
    expect(sentences('Stable 5 mm. nodule in the left apex. No pneumothorax.')).toEqual(['Stable 5 mm. nodule in the left apex.', 'No pneumothorax.']);
  });

  test('treats numbered impression items as sentences without their numbers running into them', () => {
    expect(sentences('1. No acute process. 2. Stable cardiomegaly.')).toEqual(['1. No acute process.', '2. Stable cardiomegaly.']);
  });

  test('joins a line wrapped mid-sentence and splits lines that are items', () => {
    expect(sentences('There is a small left\npleural effusion.\n- Mild cardiomegaly\n- No pneumothorax')).toEqual([
      'There is a small left\npleural effusion.',
      '- Mild cardiomegaly',
      '- No pneumothorax',
    ]);
  });

  test('tokens carry offsets into the text and split hyphen and slash compounds', () => {
    const text = 'Left-sided atelectasis and/or scarring.';
    const [sentence] = splitSentences(text);
    const words = sentence?.tokens.filter((t) => t.kind === 'word') ?? [];
    expect(words.map((t) => t.norm)).toEqual(['left', 'sided', 'atelectasis', 'and', 'or', 'scarring']);
    for (const token of sentence?.tokens ?? []) expect(text.slice(token.start, token.end)).toBe(token.text);
  });

  test('reads "cannot" and "can\'t" as "can not"', () => {
    const keys = tokenKeys(splitSentences("Cannot exclude effusion; can't exclude pneumothorax.")[0]?.tokens ?? []);
    expect(keys.join(' ')).toBe('can not exclude effusion ; can not exclude pneumothorax .');
  });

  test('returns nothing for blank text', () => {
    expect(splitSentences('  \n ')).toEqual([]);
  });
});
