import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { encodeAnalysisInput } from '@cxr/contracts';
import { encodeHeatmapPng, readAnalysisInput } from './images.ts';

describe('heatmap PNG', () => {
  test('decodes (with libvips) to the heatmap scaled to 0..255, clamped, in row order', async () => {
    const data = Float32Array.from([0, 0.5, 1, 1.7, -0.2, 0.25]);
    const png = encodeHeatmapPng({ width: 3, height: 2, data });
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 3, height: 2, channels: 1, depth: 'uchar' });
    const decoded = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    expect([...decoded.data]).toEqual([0, 128, 255, 255, 0, 64]);
  });
});

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
