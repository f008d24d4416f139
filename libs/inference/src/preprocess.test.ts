import { describe, expect, test } from 'vitest';
import { cropHeatmap, heatmapPeak } from './heatmap.ts';
import { imageToInput, inputToImage, letterboxBox, placementBox, preprocess, preprocessInto, preprocessV2Into, type PreprocessingSpec, type ResizeSpec } from './preprocess.ts';

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

describe('preprocessing of format v2', () => {
  const S = 64;
  const dark = 10000;
  /** A dark w×h image with one bright 4×4 square whose centre is at image pixel (cx, cy). */
  function dotImage(w: number, h: number, cx: number, cy: number) {
    const data = new Uint16Array(w * h).fill(dark);
    for (let y = cy - 2; y < cy + 2; y++) for (let x = cx - 2; x < cx + 2; x++) data[y * w + x] = 65535;
    return { width: w, height: h, data };
  }
  /** The centroid of the input pixels brighter than half way, in input pixels. */
  function brightCentroid(plane: Float32Array, threshold: number): { x: number; y: number } {
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let y = 0; y < S; y++)
      for (let x = 0; x < S; x++)
        if (plane[y * S + x]! > threshold) {
          sx += x + 0.5;
          sy += y + 0.5;
          n++;
        }
    return { x: sx / n, y: sy / n };
  }
  const range = { method: 'linear-range', from: [0, 1], to: [0, 1] } as const;
  const specOf = (resize: ResizeSpec): PreprocessingSpec => ({ size: S, channels: 1, resize, normalisation: range });

  test('places the image inside the padding (letterbox), past the input (centre crop) or over it (stretch)', () => {
    expect(placementBox('letterbox', 300, 200, S)).toEqual(letterboxBox(300, 200, S));
    expect(placementBox('center-crop', 300, 200, S)).toEqual({ x: -16, y: 0, width: 96, height: 64 });
    expect(placementBox('center-crop', 200, 300, S)).toEqual({ x: 0, y: -16, width: 64, height: 96 });
    expect(placementBox('stretch', 300, 200, S)).toEqual({ x: 0, y: 0, width: 64, height: 64 });
  });

  for (const resize of [
    { method: 'letterbox', kernel: 'linear', padValue: 0 },
    { method: 'center-crop', kernel: 'linear' },
    { method: 'stretch', kernel: 'linear' },
  ] as const) {
    test(`a bright spot lands where the ${resize.method} box says, and maps back to its place on the image`, async () => {
      const [w, h, cx, cy] = [240, 160, 150, 50];
      const image = dotImage(w, h, cx, cy);
      const out = new Float32Array(S * S);
      const box = await preprocessV2Into(image, specOf(resize), out);
      const expected = imageToInput(box, cx / w, cy / h);
      const found = brightCentroid(out, (dark / 65535 + 1) / 2 - 0.1);
      expect(Math.abs(found.x - expected.x)).toBeLessThan(1);
      expect(Math.abs(found.y - expected.y)).toBeLessThan(1);
      const back = inputToImage(box, found.x, found.y);
      expect(Math.abs(back.x * w - cx)).toBeLessThan(2);
      expect(Math.abs(back.y * h - cy)).toBeLessThan(2);
    });
  }

  test('a centre crop cuts the ends of the long side away: a spot there is not in the input', async () => {
    const out = new Float32Array(S * S);
    await preprocessV2Into(dotImage(240, 160, 10, 80), specOf({ method: 'center-crop', kernel: 'linear' }), out);
    expect(Math.max(...out)).toBeLessThan(0.3);
  });

  test('linear-range maps [0, 1] onto [-1024, 1024] (torchxrayvision), padding from the pad value', async () => {
    const data = new Uint16Array(50 * 100);
    for (let i = 0; i < data.length; i++) data[i] = i % 2 === 0 ? 65535 : 0;
    const uniform = (v: number) => ({ width: 40, height: 20, data: new Uint16Array(800).fill(v) });
    const spec: PreprocessingSpec = { size: S, channels: 1, resize: { method: 'letterbox', kernel: 'nearest', padValue: 0 }, normalisation: { method: 'linear-range', from: [0, 1], to: [-1024, 1024] } };
    const out = new Float32Array(S * S);
    const box = await preprocessV2Into(uniform(65535), spec, out);
    expect(out[(box.y + 1) * S + box.x + 1]).toBeCloseTo(1024, 3);
    expect(out[0]).toBeCloseTo(-1024, 3); // padding, raw 0
    await preprocessV2Into(uniform(16384), spec, out);
    expect(out[(box.y + 1) * S + box.x + 1]).toBeCloseTo(-1024 + 2048 * (16384 / 65535), 2);
    await preprocessV2Into(uniform(65535), { ...spec, resize: { method: 'letterbox', kernel: 'nearest', padValue: 65535 } }, out);
    expect(out[0]).toBeCloseTo(1024, 3);
  });

  test('mean-std normalises the grey value replicated into 3 channels with each channel\'s mean and std (ImageNet)', async () => {
    const raw = 40000;
    const image = { width: S, height: S, data: new Uint16Array(S * S).fill(raw) };
    const mean = [0.485, 0.456, 0.406];
    const std = [0.229, 0.224, 0.225];
    const out = new Float32Array(3 * S * S);
    await preprocessV2Into(image, { size: S, channels: 3, resize: { method: 'stretch', kernel: 'linear' }, normalisation: { method: 'mean-std', mean, std } }, out);
    for (let c = 0; c < 3; c++) {
      const plane = out.subarray(c * S * S, (c + 1) * S * S);
      expect(plane[0]).toBeCloseTo((raw / 65535 - mean[c]!) / std[c]!, 5);
      expect(plane[S * S - 1]).toBeCloseTo((raw / 65535 - mean[c]!) / std[c]!, 5);
    }
    await expect(preprocessV2Into(image, { size: S, channels: 3, resize: { method: 'stretch', kernel: 'linear' }, normalisation: { method: 'mean-std', mean: [0.5], std: [0.2] } }, out)).rejects.toThrow(/3 mean and std/);
  });

  test('zscore-content with a letterbox gives exactly the tensor of format 1', async () => {
    const w = 180;
    const h = 230;
    const data = new Uint16Array(w * h);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 65536;
    const v1 = new Float32Array(S * S);
    const v2 = new Float32Array(3 * S * S);
    const box1 = await preprocessInto({ width: w, height: h, data }, { size: S, kernel: 'linear', epsilon: 1e-3 }, v1);
    const box2 = await preprocessV2Into({ width: w, height: h, data }, { size: S, channels: 3, resize: { method: 'letterbox', kernel: 'linear', padValue: 0 }, normalisation: { method: 'zscore-content', epsilon: 1e-3 } }, v2);
    expect(box2).toEqual(box1);
    for (let c = 0; c < 3; c++) expect(v2.subarray(c * S * S, (c + 1) * S * S)).toEqual(v1);
  });

  test('a centre crop z-scores over the whole input (there is no padding)', async () => {
    const data = new Uint16Array(120 * 60);
    for (let i = 0; i < data.length; i++) data[i] = 20000 + (i % 120) * 300;
    const out = new Float32Array(S * S);
    await preprocessV2Into({ width: 120, height: 60, data }, { size: S, channels: 1, resize: { method: 'center-crop', kernel: 'linear' }, normalisation: { method: 'zscore-content', epsilon: 1e-3 } }, out);
    const mean = out.reduce((a, b) => a + b, 0) / out.length;
    const sd = Math.sqrt(out.reduce((a, b) => a + b * b, 0) / out.length - mean * mean);
    expect(mean).toBeCloseTo(0, 4);
    expect(sd).toBeCloseTo(1, 3);
  });

  test('a heatmap over a centre-cropped input maps back to its place on the image, and is 0 where the model saw nothing', () => {
    const grid = 8;
    const box = placementBox('center-crop', 300, 200, S); // the image overhangs 16 input px left and right
    const map = new Float32Array(grid * grid);
    map[2 * grid + 6] = 1; // the cell whose centre is input pixel (52, 20)
    const heat = cropHeatmap(map, grid, S, box);
    expect(heat.width).toBe(12);
    expect(heat.height).toBe(8);
    const peak = heatmapPeak(map, grid, S, box);
    expect(peak.x).toBeCloseTo((52 + 16) / 96, 6);
    expect(peak.y).toBeCloseTo(20 / 64, 6);
    let best = 0;
    for (let i = 1; i < heat.data.length; i++) if (heat.data[i]! > heat.data[best]!) best = i;
    expect(Math.abs((best % heat.width) + 0.5 - peak.x * heat.width)).toBeLessThanOrEqual(1);
    expect(Math.abs(Math.floor(best / heat.width) + 0.5 - peak.y * heat.height)).toBeLessThanOrEqual(1);
    // The first and last two columns cover the 16 px the crop cut away on each side.
    const full = cropHeatmap(new Float32Array(grid * grid).fill(0.8), grid, S, box);
    for (let y = 0; y < full.height; y++) {
      expect(full.data[y * full.width]).toBe(0);
      expect(full.data[y * full.width + full.width - 1]).toBe(0);
      expect(full.data[y * full.width + 5]).toBeCloseTo(0.8, 6);
    }
  });
});
