import { describe, expect, test } from 'vitest';
import { splitDecoded } from './text-decoder.ts';

const vocab = ['<pad>', '<bos>', '<eos>', '<sep>', '<unk>', '.', 'No', 'pneumothorax', 'Heart', 'size', 'is', 'normal'];
const special = { pad: '<pad>', bos: '<bos>', eos: '<eos>', sep: '<sep>', unk: '<unk>' };
const ids = (words: string) => words.split(' ').map((w) => vocab.indexOf(w));

describe('splitDecoded', () => {
  test('splits the tokens at <sep> into findings and impression, and marks a text that reached <eos> complete', () => {
    expect(splitDecoded(ids('No pneumothorax . <sep> Heart size is normal .'), vocab, special, true)).toEqual({
      findings: 'No pneumothorax.',
      impression: 'Heart size is normal.',
      complete: true,
    });
  });

  test('marks a text that stopped at maxLength without <eos> incomplete', () => {
    expect(splitDecoded(ids('No pneumothorax . Heart size'), vocab, special, false)).toEqual({ findings: 'No pneumothorax. Heart size', impression: '', complete: false });
  });
});
