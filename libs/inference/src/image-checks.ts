// Checks that no radiograph model should skip, run on the pixels before the model reads them: each
// refusal has its own reason. Thresholds are deliberately loose (a real radiograph passes them by a
// wide margin, measured in libs/inference/README.md); the out-of-distribution score does the fine work.
import type { PresentationImage } from './preprocess.ts';

/**
 * `polarity` is decided with the model (an image whose inverse is in distribution while it is not
 * is shown inverted: model-package.ts); the others here, on the pixels alone.
 */
export type ImageCheck = 'blank' | 'saturated' | 'too-small' | 'polarity';

export interface ImageCheckFailure {
  check: ImageCheck;
  reason: string;
}

export interface ImageCheckOptions {
  /** Shorter side (px) of the source image below which it is refused (the scope's minImageSize). */
  minImageSize: number;
  /** The size of the image as acquired, when `image` is a downsized copy of it. */
  sourceSize?: { width: number; height: number } | undefined;
}

/** Spread (SD of raw/65535) below which an image carries no picture. */
export const BLANK_MAX_SD = 0.01;
/** Share of pixels at the top of the range above which the image is burnt out. */
export const SATURATED_MIN_SHARE = 0.5;
export function checkImage(image: PresentationImage, options: ImageCheckOptions): ImageCheckFailure | null {
  const { width, height, data } = image;
  const source = options.sourceSize ?? { width, height };
  if (Math.min(source.width, source.height) < options.minImageSize) {
    return { check: 'too-small', reason: `The image is ${source.width}x${source.height} pixels, far smaller than a radiograph the model reads (shorter side at least ${options.minImageSize}).` };
  }
  let sum = 0;
  let sum2 = 0;
  let top = 0;
  const n = data.length;
  for (let i = 0; i < n; i++) {
    const v = data[i]! / 65535;
    sum += v;
    sum2 += v * v;
    if (data[i]! >= 65000) top++;
  }
  const mean = sum / n;
  const sd = Math.sqrt(Math.max(sum2 / n - mean * mean, 0));
  // Blank first: a uniform image is often shown all white by the VOI window, and is blank rather than burnt out.
  if (sd < BLANK_MAX_SD) return { check: 'blank', reason: 'The image is blank: it has almost no variation in brightness.' };
  if (top / n > SATURATED_MIN_SHARE) return { check: 'saturated', reason: `The image is saturated: ${Math.round((100 * top) / n)}% of its pixels are at full brightness.` };
  return null;
}
