// Maps a heatmap over the square model input back onto the original image, through the placement
// box of the resize (letterbox: the image inside the padding; centre crop: the image overhanging
// the input; stretch: the whole input). Parts of the image outside the input get 0 (no evidence).
import type { ContentBox } from './preprocess.ts';

export interface Heatmap {
  width: number;
  height: number;
  /** Row-major, 0..1, covering exactly the image's extent. */
  data: Float32Array;
}

/**
 * Crops the padding away from a `grid`x`grid` map (over an `inputSize` square input) and resamples
 * it bilinearly to about one value per grid cell, keeping the image's aspect ratio. Where the
 * image extends past the input (a centre crop), the map is 0.
 */
export function cropHeatmap(grid: Float32Array, gridSize: number, inputSize: number, box: ContentBox): Heatmap {
  const cell = inputSize / gridSize;
  const width = Math.max(1, Math.round(box.width / cell));
  const height = Math.max(1, Math.round(box.height / cell));
  const data = new Float32Array(width * height);
  const max = gridSize - 1;
  const outside = (p: number): boolean => p < 0 || p > inputSize;
  for (let j = 0; j < height; j++) {
    const py = box.y + ((j + 0.5) * box.height) / height;
    if (outside(py)) continue;
    const gy = Math.min(max, Math.max(0, py / cell - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(max, y0 + 1);
    const fy = gy - y0;
    for (let i = 0; i < width; i++) {
      const px = box.x + ((i + 0.5) * box.width) / width;
      if (outside(px)) continue;
      const gx = Math.min(max, Math.max(0, px / cell - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(max, x0 + 1);
      const fx = gx - x0;
      const a = grid[y0 * gridSize + x0]!;
      const b = grid[y0 * gridSize + x1]!;
      const c = grid[y1 * gridSize + x0]!;
      const d = grid[y1 * gridSize + x1]!;
      data[j * width + i] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    }
  }
  return { width, height, data };
}

/**
 * The grid cell with the highest value among cells whose centre lies on the image content, as
 * normalised image coordinates (0..1) of that cell's centre. This is the cell the decision pools.
 */
export function heatmapPeak(grid: Float32Array, gridSize: number, inputSize: number, box: ContentBox): { x: number; y: number } {
  const cell = inputSize / gridSize;
  let best = -Infinity;
  let bx = 0;
  let by = 0;
  for (let gy = 0; gy < gridSize; gy++) {
    const cy = (gy + 0.5) * cell;
    if (cy < box.y || cy > box.y + box.height) continue;
    for (let gx = 0; gx < gridSize; gx++) {
      const cx = (gx + 0.5) * cell;
      if (cx < box.x || cx > box.x + box.width) continue;
      const v = grid[gy * gridSize + gx]!;
      if (v > best) {
        best = v;
        bx = cx;
        by = cy;
      }
    }
  }
  const clamp01 = (v: number): number => Math.min(1, Math.max(0, v));
  return { x: clamp01((bx - box.x) / box.width), y: clamp01((by - box.y) / box.height) };
}
