import { describe, expect, test } from 'vitest';
import { measuredSizeMm } from './size-measurement.ts';

const image = { width: 2000, height: 2500, pixelSpacingMm: 0.15 };
/** A region of the given size in mm on `image`. */
const box = (widthMm: number, heightMm: number) => ({ x: 0.2, y: 0.2, width: widthMm / (image.width * 0.15), height: heightMm / (image.height * 0.15) });

describe('measuredSizeMm', () => {
  test('measures a nodule as the mean of its hot area\'s width and height, to the millimetre', () => {
    expect(measuredSizeMm('nodule', box(18, 22), image)).toBe(20);
  });

  test('measures a mass the same way', () => {
    expect(measuredSizeMm('mass', box(44, 46), image)).toBe(45);
  });

  test.each([
    ['the image has no pixel spacing', 'nodule', box(18, 22), { width: 2000, height: 2500 }],
    ['the finding has no hot area', 'nodule', null, image],
    ['the finding is a pneumothorax (a rim depth, not an extent)', 'pneumothorax', box(20, 20), image],
    ['the finding is an effusion', 'pleural_effusion', box(60, 40), image],
    ['the finding is cardiomegaly (a ratio needs the thorax)', 'cardiomegaly', box(150, 120), image],
    ['the hot area is far from round', 'nodule', box(10, 25), image],
    ['a "nodule" would measure more than 30 mm (the map is warm over a whole lung)', 'nodule', box(120, 150), image],
    ['a "mass" would measure 30 mm or less', 'mass', box(20, 22), image],
  ])('gives no size when %s', (_, code, region, on) => {
    expect(measuredSizeMm(code, region, on)).toBeNull();
  });

  test('reads the finding code in any spelling', () => {
    expect(measuredSizeMm('Nodule', box(18, 22), image)).toBe(20);
  });
});
