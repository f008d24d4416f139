import sharp from 'sharp';
import { findingGeometry, type FindingGeometry, type HeatmapPixels } from '@cxr/drafting';
import { PermanentError } from '@cxr/platform';

/**
 * Reads a finding's side, zone and region from its stored heatmap PNG. The geometry rules are
 * pure and live in @cxr/drafting (the evaluation harness applies the same ones); decoding the
 * PNG is this service's part.
 */
export { findingGeometry, MIDDLE_ZONE_END, NO_GEOMETRY, normaliseCode, UPPER_ZONE_END, zoneAt } from '@cxr/drafting';
export type { FindingGeometry, HeatmapPixels, Side, Zone } from '@cxr/drafting';

export class HeatmapInputError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'HeatmapInputError';
  }
}

export async function decodeHeatmap(png: Buffer): Promise<HeatmapPixels> {
  try {
    const { data, info } = await sharp(png).removeAlpha().toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    const pixels = new Uint8Array(info.width * info.height);
    for (let i = 0; i < pixels.length; i++) pixels[i] = data[i * info.channels]!;
    return { width: info.width, height: info.height, data: pixels };
  } catch (error) {
    throw new HeatmapInputError(`heatmap is not a readable image: ${(error as Error).message}`, { cause: error });
  }
}

/** Decodes the heatmap PNG and reads the finding's geometry from it. */
export async function heatmapGeometry(png: Buffer, peak: { x: number; y: number }, code: string): Promise<FindingGeometry> {
  return findingGeometry(await decodeHeatmap(png), peak, code);
}
