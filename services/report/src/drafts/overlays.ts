import sharp, { type OutputInfo, type OverlayOptions } from 'sharp';
import { PermanentError } from '@cxr/platform';
import { HEAT_COLOUR_MAP } from './colour-map.ts';

/**
 * Heatmap overlays: the model's 8-bit heatmap, upsampled to the preview's size, colour-mapped,
 * and composited over the grey preview with opacity rising with heat, so cold regions show the
 * image untouched. A small legend bar (low on the left, high on the right) sits in the
 * bottom-right corner. Output: an RGB PNG with the preview's width and height.
 */

/** Heat at or below this (0..255) is fully transparent: faint background activation is noise. */
export const COLD_CUTOFF = 48;
/** Opacity at full heat (0..255): the anatomy stays visible under the hottest spot. */
export const MAX_ALPHA = 170;

export class OverlayInputError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'OverlayInputError';
  }
}

/** Opacity for an 8-bit heat value: 0 up to the cut-off, then linear up to MAX_ALPHA. */
export function heatAlpha(heat: number): number {
  if (heat <= COLD_CUTOFF) return 0;
  return Math.round(((heat - COLD_CUTOFF) / (255 - COLD_CUTOFF)) * MAX_ALPHA);
}

export async function renderOverlay(previewPng: Buffer, heatmapPng: Buffer): Promise<Buffer> {
  // Pass 0: the preview as RGB pixels (a grey PNG per contract; any alpha dropped here,
  // in its own pipeline, because removeAlpha() next to composite() does not take).
  let preview: { data: Buffer; info: OutputInfo };
  let heat: { data: Buffer; info: OutputInfo };
  try {
    preview = await sharp(previewPng).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new OverlayInputError(`preview is not a readable image: ${(error as Error).message}`, { cause: error });
  }
  const { width, height } = preview.info;
  try {
    heat = await sharp(heatmapPng)
      .removeAlpha()
      .toColourspace('b-w')
      // The heatmap covers the image's extent, so stretching it to the preview is exact.
      .resize(width, height, { fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new OverlayInputError(`heatmap is not a readable image: ${(error as Error).message}`, { cause: error });
  }

  const colour = colourise(heat.data, heat.info.channels, width * height);
  const layers: OverlayOptions[] = [{ input: colour, raw: { width, height, channels: 4 } }];
  const legend = legendBar(width, height);
  if (legend) layers.push(legend);

  // Pass 1: composite; pass 2: drop the alpha channel composite() adds.
  const composited = await sharp(preview.data, { raw: { width, height, channels: preview.info.channels } })
    .composite(layers)
    .png()
    .toBuffer();
  return sharp(composited).removeAlpha().png({ compressionLevel: 6 }).toBuffer();
}

/** RGBA pixels: colour from the map, alpha from the heat. */
function colourise(heat: Buffer, channels: number, pixels: number): Buffer {
  const out = Buffer.alloc(pixels * 4);
  for (let i = 0; i < pixels; i++) {
    const h = heat[i * channels]!;
    const alpha = heatAlpha(h);
    if (alpha === 0) continue;
    out[i * 4] = HEAT_COLOUR_MAP[h * 3]!;
    out[i * 4 + 1] = HEAT_COLOUR_MAP[h * 3 + 1]!;
    out[i * 4 + 2] = HEAT_COLOUR_MAP[h * 3 + 2]!;
    out[i * 4 + 3] = alpha;
  }
  return out;
}

/** Where the legend goes for an image of this size (exported for tests); null if it does not fit. */
export function legendPlacement(width: number, height: number): { left: number; top: number; width: number; height: number } | null {
  const margin = Math.max(2, Math.round(Math.min(width, height) * 0.02));
  const barWidth = Math.min(256, Math.max(16, Math.round(width * 0.25))) + 2;
  const barHeight = Math.min(16, Math.max(4, Math.round(height * 0.02))) + 2;
  if (barWidth + 2 * margin > width || barHeight + 2 * margin > height) return null;
  return { left: width - margin - barWidth, top: height - margin - barHeight, width: barWidth, height: barHeight };
}

/** An opaque gradient bar, low (left) to high (right), with a 1-pixel white frame. */
function legendBar(imageWidth: number, imageHeight: number): OverlayOptions | null {
  const place = legendPlacement(imageWidth, imageHeight);
  if (!place) return null;
  const { width, height } = place;
  const bar = Buffer.alloc(width * height * 4, 255);
  const inner = width - 2;
  for (let y = 1; y < height - 1; y++) {
    for (let x = 1; x < width - 1; x++) {
      const h = Math.round(((x - 1) / Math.max(1, inner - 1)) * 255);
      const o = (y * width + x) * 4;
      bar[o] = HEAT_COLOUR_MAP[h * 3]!;
      bar[o + 1] = HEAT_COLOUR_MAP[h * 3 + 1]!;
      bar[o + 2] = HEAT_COLOUR_MAP[h * 3 + 2]!;
    }
  }
  return { input: bar, raw: { width, height, channels: 4 }, left: place.left, top: place.top };
}
