import { describe, expect, test } from 'vitest';
import { cropHeatmap, heatmapPeak } from './heatmap.ts';
import { letterboxBox, preprocess } from './preprocess.ts';

const spec = { size: 128, kernel: 'linear' as const, epsilon: 1e-3 };

describe('preprocess', () => {
  test('letterboxes a tall image into the centre of the square input', () => {
    expect(letterboxBox(1000, 1250, 128)).toEqual({ x: 13, y: 0, width: 102, height: 128 });
    expect(letterboxBox(128, 128, 128)).toEqual({ x: 0, y: 0, width: 128, height: 128 });
  });

  test('z-scores the content and gives the padding the normalised value of black', async () => {
    const w = 200;
    const h = 250;
    const data = new Uint16Array(w * h);
    for (let i = 0; i < data.length; i++) data[i] = 20000 + (i % w) * 100;
    const { tensor, box } = await preprocess({ width: w, height: h, data }, spec);
    let sum = 0;
    let sum2 = 0;
    for (let y = box.y; y < box.y + box.height; y++)
      for (let x = box.x; x < box.x + box.width; x++) {
        const v = tensor[y * 128 + x]!;
        sum += v;
        sum2 += v * v;
      }
    const n = box.width * box.height;
    expect(sum / n).toBeCloseTo(0, 3);
    expect(Math.sqrt(sum2 / n)).toBeCloseTo(1, 3);
    expect(tensor[0]).toBeLessThan(-2); // padding = raw 0, far below the content
  });

  test('gives the same tensor whatever the window scaling of the same image', async () => {
    const w = 64;
    const data = new Uint16Array(w * w);
    for (let i = 0; i < data.length; i++) data[i] = 1000 + ((i * 7919) % 3000);
    const scaled = data.map((v) => v * 2);
    const a = await preprocess({ width: w, height: w, data }, spec);
    const b = await preprocess({ width: w, height: w, data: scaled }, spec);
    let max = 0;
    for (let i = 0; i < a.tensor.length; i++) max = Math.max(max, Math.abs(a.tensor[i]! - b.tensor[i]!));
    expect(max).toBeLessThan(2e-3);
  });

  test('uses an image that already fills the letterbox as it is: each pixel lands in its place, z-scored', async () => {
    // What ingest stores by default for the reference model: long side = the model's input size.
    const w = 102;
    const h = 128;
    const data = new Uint16Array(w * h);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 65536; // no smooth pattern: any resampling would show
    const { tensor, box } = await preprocess({ width: w, height: h, data }, spec);
    expect(box).toEqual({ x: 13, y: 0, width: w, height: h });
    let sum = 0;
    let sum2 = 0;
    for (const v of data) {
      sum += v / 65535;
      sum2 += (v / 65535) ** 2;
    }
    const mean = sum / data.length;
    const std = Math.sqrt(sum2 / data.length - mean * mean);
    let max = 0;
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) max = Math.max(max, Math.abs(tensor[y * 128 + box.x + x]! - (data[y * w + x]! / 65535 - mean) / std));
    expect(max).toBeLessThan(1e-4);
  });


  test('refuses data whose length does not match the size', async () => {
    await expect(preprocess({ width: 4, height: 4, data: new Uint16Array(15) }, spec)).rejects.toThrow(/expected 4x4/);
  });
});

describe('heatmap mapping', () => {
  test('crops the padding away so the heatmap keeps the image aspect, and maps the peak to image coordinates', () => {
    const grid = new Float32Array(32 * 32);
    const box = letterboxBox(1000, 1250, 128); // x 13..115
    grid[8 * 32 + 10] = 1; // cell centre (42, 34) in input pixels
    const map = cropHeatmap(grid, 32, 128, box);
    expect(map.height).toBe(32);
    expect(map.width).toBe(26);
    const peak = heatmapPeak(grid, 32, 128, box);
    expect(peak.x).toBeCloseTo((42 - 13) / 102, 5);
    expect(peak.y).toBeCloseTo(34 / 128, 5);
  });

  test('ignores cells that lie on the padding when looking for the peak', () => {
    const grid = new Float32Array(32 * 32);
    const box = letterboxBox(1000, 1250, 128);
    grid[5 * 32 + 0] = 1; // padding column
    grid[5 * 32 + 16] = 0.5;
    expect(heatmapPeak(grid, 32, 128, box).x).toBeCloseTo((66 - 13) / 102, 5);
  });
});
