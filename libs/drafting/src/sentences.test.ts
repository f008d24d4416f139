import { describe, expect, test } from 'vitest';
import { splitSentences } from './sentences.ts';

const texts = (text: string): string[] => splitSentences(text).map((s) => s.text);

describe('splitSentences', () => {
  test.each([
    ['The lungs are clear. No pneumothorax.', ['The lungs are clear.', 'No pneumothorax.']],
    ['The heart is enlarged, with a cardiothoracic ratio of 0.62. No pneumothorax.', ['The heart is enlarged, with a cardiothoracic ratio of 0.62.', 'No pneumothorax.']],
    ['A 1.5 cm nodule in the right upper zone, approx. 2 cm from the hilum. No effusion.', ['A 1.5 cm nodule in the right upper zone, approx. 2 cm from the hilum.', 'No effusion.']],
    ['Pleural findings, e.g. blunting, are absent. Heart size is normal.', ['Pleural findings, e.g. blunting, are absent.', 'Heart size is normal.']],
    ['Nodule measures 12 mm. Stable since 2024.', ['Nodule measures 12 mm.', 'Stable since 2024.']],
    ['1. Right pleural effusion.\n2. No pneumothorax.', ['1. Right pleural effusion.', '2. No pneumothorax.']],
    ['Is there a pneumothorax? No. Follow-up advised!', ['Is there a pneumothorax?', 'No.', 'Follow-up advised!']],
    ['(Small right effusion.) Heart size is normal.', ['(Small right effusion.)', 'Heart size is normal.']],
    ['Findings are stable... Follow-up in 6 weeks.', ['Findings are stable...', 'Follow-up in 6 weeks.']],
    ['Right pleural effusion\nLeft lung clear', ['Right pleural effusion', 'Left lung clear']],
    ['Small effusion. small pneumothorax.', ['Small effusion. small pneumothorax.']],
    ['  \n\n  Cardiomegaly.  \n\n', ['Cardiomegaly.']],
    ['', []],
    ['   \n ', []],
    ['No acute cardiopulmonary abnormality', ['No acute cardiopulmonary abnormality']],
  ])('splits %j into its sentences', (text, expected) => {
    expect(texts(text)).toEqual(expected);
  });

  test('gives offsets that cut each sentence out of the text', () => {
    const text = '  A 14 mm nodule in the right upper zone. No pleural effusion.\nRight upper zone nodule.';
    const spans = splitSentences(text);
    expect(spans.map((s) => [s.start, s.end])).toEqual([
      [2, 41],
      [42, 62],
      [63, 87],
    ]);
    for (const s of spans) expect(text.slice(s.start, s.end)).toBe(s.text);
  });

  test('never throws, and always gives ordered, trimmed, non-empty sentences that are slices of the text', () => {
    // Deterministic pseudo-random text built from the characters that matter to the splitter.
    const pieces = ['.', '. ', '!', '?', ' ', '\n', '\r\n', '"', ')', 'e.g.', '1.5', 'No ', 'effusion', 'A', 'b', '3', '\t', '…', 'İ', '😀'];
    let state = 12345;
    const next = (n: number): number => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state % n;
    };
    for (let round = 0; round < 500; round++) {
      let text = '';
      for (let k = next(40); k > 0; k--) text += pieces[next(pieces.length)];
      const spans = splitSentences(text);
      let previousEnd = 0;
      for (const s of spans) {
        expect(s.start).toBeGreaterThanOrEqual(previousEnd);
        expect(s.end).toBeGreaterThan(s.start);
        expect(text.slice(s.start, s.end)).toBe(s.text);
        expect(s.text).toBe(s.text.trim());
        previousEnd = s.end;
      }
    }
  });
});
