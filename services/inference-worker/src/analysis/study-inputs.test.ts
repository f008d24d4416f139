import { describe, expect, test } from 'vitest';
import { inputCoversModel } from './study-inputs.ts';

describe('inputCoversModel', () => {
  const presentation = { width: 1024, height: 1229 };

  test.each([
    ['an input whose long side is the model input size', { width: 213, height: 256 }, 256, true],
    ['an input larger than the model takes', { width: 427, height: 512 }, 256, true],
    ['an input with fewer pixels than the model takes', { width: 213, height: 256 }, 512, false],
    ['a landscape input whose long side is its width', { width: 256, height: 213 }, 256, true],
  ])('takes %s: %o for a %i px model → %s', (_name, input, modelSize, expected) => {
    expect(inputCoversModel(input, presentation, modelSize)).toBe(expected);
  });

  test('takes a small input that is the whole presentation image: there is nothing larger to read', () => {
    expect(inputCoversModel({ width: 200, height: 240 }, { width: 200, height: 240 }, 256)).toBe(true);
  });
});
