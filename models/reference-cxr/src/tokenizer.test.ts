import { detokenize } from '@cxr/inference';
import { generatePhantom } from '@cxr/phantom';
import { describe, expect, test } from 'vitest';
import { buildVocabulary, encodeReport } from './tokenizer.ts';

describe('report tokenizer', () => {
  const vocabulary = buildVocabulary();

  test('the vocabulary is deterministic and starts with the special tokens', () => {
    expect(buildVocabulary()).toEqual(vocabulary);
    expect(vocabulary.slice(0, 5)).toEqual(['<pad>', '<bos>', '<eos>', '<sep>', '<unk>']);
    expect(new Set(vocabulary).size).toBe(vocabulary.length);
  });

  test('every generated report encodes without unknown tokens and decodes back to the same text', () => {
    for (let seed = 0; seed < 300; seed++) {
      const { reportText } = generatePhantom({ seed, size: 16 });
      const ids = Array.from(encodeReport(reportText, vocabulary, 64));
      expect(ids).not.toContain(vocabulary.indexOf('<unk>'));
      const end = ids.indexOf(vocabulary.indexOf('<eos>'));
      const sep = ids.indexOf(vocabulary.indexOf('<sep>'));
      expect(detokenize(ids.slice(0, sep).map((i) => vocabulary[i]!))).toBe(reportText.findings);
      expect(detokenize(ids.slice(sep + 1, end).map((i) => vocabulary[i]!))).toBe(reportText.impression);
    }
  });
});
