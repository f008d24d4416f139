import { describe, expect, test } from 'vitest';
import { encodeAnalysisInput } from '@cxr/contracts';
import { inputCoversModel, readAnalysisInput } from './analysis-image-input.ts';

describe('reading an analysis input', () => {
  const input = (width: number, height: number) => encodeAnalysisInput({ width, height, data: new Uint16Array(width * height).fill(1000) });

  test.each([
    ['427x512 for a 1024x1229 image', 427, 512, { width: 1024, height: 1229 }],
    ['512x256 for a 2000x1000 image', 512, 256, { width: 2000, height: 1000 }],
    ['a short side rounded the other way', 417, 512, { width: 833, height: 1024 }],
  ])('accepts %s', (_name, width, height, expected) => {
    const image = readAnalysisInput(input(width, height), expected);
    expect(image).toMatchObject({ width, height });
    expect(image.data[0]).toBe(1000);
  });

  test('refuses an input whose aspect ratio is not the image\'s, as a permanent error', () => {
    expect(() => readAnalysisInput(input(512, 512), { width: 1024, height: 1229 })).toThrow(/not the aspect ratio/);
    expect(() => readAnalysisInput(input(512, 512), { width: 1024, height: 1229 })).toThrow(expect.objectContaining({ permanent: true }));
  });

  test('refuses bytes that are not an analysis input, as a permanent error', () => {
    expect(() => readAnalysisInput(Buffer.from('not an input at all'), { width: 10, height: 10 })).toThrow(/analysis input is not readable/);
    expect(() => readAnalysisInput(Buffer.from('not an input at all'), { width: 10, height: 10 })).toThrow(expect.objectContaining({ permanent: true }));
  });
});

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
