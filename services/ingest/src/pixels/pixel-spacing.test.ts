import { describe, expect, test } from 'vitest';
import { presentationPixelSpacingMm } from './pixel-spacing.ts';

const pixelSpacing = (row: number, column: number) => ({ '00280030': { vr: 'DS' as const, Value: [row, column] } });
const imagerPixelSpacing = (row: number, column: number) => ({ '00181164': { vr: 'DS' as const, Value: [row, column] } });

describe('presentationPixelSpacingMm', () => {
  test('scales the Pixel Spacing by how much the presentation image was shrunk', () => {
    expect(presentationPixelSpacingMm(pixelSpacing(0.143, 0.143), 2800, 1400)).toBeCloseTo(0.286, 6);
  });

  test('prefers Pixel Spacing to Imager Pixel Spacing', () => {
    expect(presentationPixelSpacingMm({ ...imagerPixelSpacing(0.16, 0.16), ...pixelSpacing(0.15, 0.15) }, 1000, 1000)).toBe(0.15);
  });

  test('falls back to Imager Pixel Spacing', () => {
    expect(presentationPixelSpacingMm(imagerPixelSpacing(0.2, 0.2), 1000, 500)).toBe(0.4);
  });

  test.each([
    ['neither attribute is present', {}],
    ['the pixels are not square', pixelSpacing(0.1, 0.2)],
    ['a value is zero', pixelSpacing(0, 0)],
    ['only one value is given', { '00280030': { vr: 'DS' as const, Value: [0.2] } }],
  ])('gives no spacing when %s', (_, metadata) => {
    expect(presentationPixelSpacingMm(metadata, 1000, 1000)).toBeUndefined();
  });

  test('gives no spacing beyond what the analysis request accepts', () => {
    expect(presentationPixelSpacingMm(pixelSpacing(4, 4), 4000, 1000)).toBeUndefined();
  });
});
