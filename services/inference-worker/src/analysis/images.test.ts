import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { encodeHeatmapPng } from './images.ts';

describe('heatmap PNG', () => {
  test('decodes (with libvips) to the heatmap scaled to 0..255, clamped, in row order', async () => {
    const data = Float32Array.from([0, 0.5, 1, 1.7, -0.2, 0.25]);
    const png = encodeHeatmapPng({ width: 3, height: 2, data });
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 3, height: 2, channels: 1, depth: 'uchar' });
    const decoded = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect([...decoded.data]).toEqual([0, 128, 255, 255, 0, 64]);
  });
});
