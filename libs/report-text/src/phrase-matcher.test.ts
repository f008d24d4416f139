import { describe, expect, test } from 'vitest';
import { PhraseIndex, phraseKeys, wordKey } from './phrase-matcher.ts';

describe('wordKey', () => {
  test.each([
    ['Opacities', 'opacity'],
    ['effusions', 'effusion'],
    ['pneumothoraces', 'pneumothorax'],
    ['atelectasis', 'atelectasis'],
    ['bases', 'base'],
    ['apices', 'apex'],
    ['emphysematous', 'emphysematous'],
    ['process', 'process'],
    ['is', 'is'],
  ])('compares "%s" as "%s"', (word, key) => {
    expect(wordKey(word)).toBe(key);
  });
});

describe('PhraseIndex', () => {
  const index = new PhraseIndex<string>([
    ['effusion', 'pleural'],
    ['pericardial effusion', 'pericardial'],
    ['air-space disease', 'consolidation'],
  ]);

  test('prefers the longest phrase at a position', () => {
    const keys = phraseKeys('small pericardial effusions');
    expect(index.matchAll(keys).map((m) => [m.value, m.start, m.end])).toEqual([['pericardial', 1, 3]]);
  });

  test('matches hyphenated and spaced spellings alike', () => {
    expect(index.matchAll(phraseKeys('air space disease')).map((m) => m.value)).toEqual(['consolidation']);
  });

  test('skips blocked tokens', () => {
    expect(index.matchAll(phraseKeys('effusion effusion'), (i) => i === 0).map((m) => m.start)).toEqual([1]);
  });

  test('reads "cannot" in a phrase as "can not"', () => {
    expect(phraseKeys('cannot be excluded')).toEqual(['can', 'not', 'be', 'excluded']);
  });
});
