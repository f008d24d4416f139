import type { z } from 'zod';
import { LUNG_ZONE_CUTOFFS, zoneOfImageHeight, type Region, type sideSchema, type zoneSchema } from '@cxr/contracts';

/**
 * Where a finding is, read from its raw heatmap: the hot area around the peak (`region`), the
 * patient side and the lung zone, in the words `@cxr/phantom` uses for its ground truth.
 *
 * - Hot area: the 8-connected area around the peak whose heat is at least halfway between the
 *   map's background (its median) and the peak value: a half-maximum above background, so a
 *   map that is warm everywhere still gives a tight box. The peak is the model's (the cell the
 *   decision pools), moved uphill to the nearest local maximum of the 8-bit map, whose
 *   resampling can shift it by a pixel; if that point is no warmer than the background (a peak
 *   that does not belong to this map), the map's hottest pixel is used instead. A map whose
 *   hottest point stands less than MIN_CONTRAST above the background has no hot area: region,
 *   side and zone are all null.
 * - Side: PATIENT side on a frontal PA/AP image, where the patient's right is the image's left.
 *   An area with at least MIDLINE_SHARE of its heat on each side of the image's vertical
 *   midline spans the midline: `bilateral` if it also reaches both lateral bands (x < 0.3 and
 *   x > 0.7, the lateral halves of the lung fields), else `midline`. Otherwise the side that
 *   holds more of its heat. A second, separate hot area on the other side of the midline that is
 *   nearly as hot (SECOND_AREA_SHARE of the peak's height above background) also makes it
 *   `bilateral`; the region then boxes both areas.
 * - Zone: upper/middle/lower third of the lung fields, from the vertical position of the peak
 *   (the strongest evidence). The bounding box of a pneumothorax or effusion runs along the
 *   pleura across zones, so its centre says less than the peak does. The cut-offs are fixed
 *   fractions of the image height, UPPER_ZONE_END = 0.355 and MIDDLE_ZONE_END = 0.525: thirds of
 *   lung fields spanning about 17%–70% of the height, as on frontal images framed like the
 *   phantom generator's (apices at 13–19%, costophrenic angles at 70–75%, aspect 1–1.25). Chosen
 *   on 1,200 phantom nodules and masses, where they agree with the generator's zone 97% of the
 *   time; the misses sit within a few percent of a border, where the anatomy varies by about
 *   ±15 mm. Positions above or below the lung fields count as upper or lower. No segmentation of
 *   the lungs is attempted: on an image framed differently the zone is approximate. Midline areas
 *   have no lung zone (null). Measured on the reference model's own heatmaps of 120 phantoms
 *   (aspect 1 and 1.2): zone as the generator's 89% of the time, the misses mostly maps whose peak
 *   is not on the lesion; side as the generator's on 60 of 60.
 * - The rules assume a frontal view: the analysis result does not say which view an image is, so
 *   a lateral view's side is read the same way and means little.
 * - Cardiomegaly is a heart finding: side `midline`, zone null, whatever its heatmap's shape
 *   (a class-activation map often lights up one heart border only).
 */

export type Side = z.infer<typeof sideSchema>;
export type Zone = z.infer<typeof zoneSchema>;

export interface FindingGeometry {
  region: Region | null;
  side: Side | null;
  zone: Zone | null;
}

export const NO_GEOMETRY: FindingGeometry = Object.freeze({ region: null, side: null, zone: null });

/** 8-bit heat values, one per pixel, row-major, covering the image's extent. */
export interface HeatmapPixels {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Peak height above background (0..255) below which a map is taken as flat. */
export const MIN_CONTRAST = 12;
/** Share of the hot area's heat that must lie on each side for it to span the midline. */
export const MIDLINE_SHARE = 0.25;
/** A second hot area counts when its peak reaches this share of the main peak's height above background. */
export const SECOND_AREA_SHARE = 0.75;
/** The lung zone cut-offs, from their one definition in @cxr/contracts (LUNG_ZONE_CUTOFFS). */
export const UPPER_ZONE_END = LUNG_ZONE_CUTOFFS.upperEnd;
export const MIDDLE_ZONE_END = LUNG_ZONE_CUTOFFS.middleEnd;
const LATERAL_BAND = 0.3;
const MIDLINE_X = 0.5;

/** Findings with a fixed place, not read from the heatmap (codes as in the reference model). */
const FIXED_PLACE: Readonly<Record<string, { side: Side | null; zone: Zone | null }>> = {
  cardiomegaly: { side: 'midline', zone: null },
};

export function findingGeometry(heatmap: HeatmapPixels, peak: { x: number; y: number }, code: string): FindingGeometry {
  const { width, height, data } = heatmap;
  if (width < 1 || height < 1 || data.length < width * height) return NO_GEOMETRY;
  const background = median(data, width * height);
  let start = climb(heatmap, pixelAt(peak.x, width), pixelAt(peak.y, height));
  if (data[start]! - background < MIN_CONTRAST) start = hottest(data, width * height);
  const peakValue = data[start]!;
  const contrast = peakValue - background;
  if (contrast < MIN_CONTRAST) return NO_GEOMETRY;
  const level = background + Math.ceil(contrast / 2);

  const inArea = new Uint8Array(width * height);
  const main = floodFill(heatmap, start, level, background, inArea);
  let box = main.box;
  let side = sideOf(main, width);
  const second = side === 'right' || side === 'left' ? opposingArea(heatmap, level, background, background + SECOND_AREA_SHARE * contrast, side, inArea) : null;
  if (second) {
    side = 'bilateral';
    box = { x0: Math.min(box.x0, second.box.x0), y0: Math.min(box.y0, second.box.y0), x1: Math.max(box.x1, second.box.x1), y1: Math.max(box.y1, second.box.y1) };
  }
  const region: Region = {
    x: box.x0 / width,
    y: box.y0 / height,
    width: (box.x1 + 1 - box.x0) / width,
    height: (box.y1 + 1 - box.y0) / height,
  };
  const fixed = FIXED_PLACE[normaliseCode(code)];
  if (fixed) return { region, ...fixed };
  const peakY = (Math.floor(start / width) + 0.5) / height;
  return { region, side, zone: side === 'midline' ? null : zoneAt(peakY) };
}

/** Lung zone of a vertical position (0 top .. 1 bottom of the image). */
export function zoneAt(y: number): Zone {
  return zoneOfImageHeight(y);
}

/** Finding codes compared without case or separators: `pleural-effusion` is `pleural_effusion`. */
export function normaliseCode(code: string): string {
  return code.toLowerCase().replace(/[\s-]+/g, '_');
}

interface Area {
  box: { x0: number; y0: number; x1: number; y1: number };
  /** Heat above background on the image's left half (patient right) and right half (patient left). */
  imageLeftHeat: number;
  imageRightHeat: number;
  max: number;
}

function pixelAt(fraction: number, size: number): number {
  const f = Number.isFinite(fraction) ? fraction : 0.5;
  return Math.min(size - 1, Math.max(0, Math.floor(f * size)));
}

function median(data: Uint8Array, count: number): number {
  const histogram = new Uint32Array(256);
  for (let i = 0; i < count; i++) histogram[data[i]!]! += 1;
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += histogram[v]!;
    if (seen * 2 >= count) return v;
  }
  return 255;
}

/** Index of the first pixel with the highest value. */
function hottest(data: Uint8Array, count: number): number {
  let best = 0;
  for (let i = 1; i < count; i++) if (data[i]! > data[best]!) best = i;
  return best;
}

/** Index of the local maximum reached by stepping to the hottest 8-neighbour while it is hotter. */
function climb({ width, height, data }: HeatmapPixels, x: number, y: number): number {
  let at = y * width + x;
  for (;;) {
    const cx = at % width;
    const cy = (at - cx) / width;
    let best = at;
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const nx = cx + dx;
        const ny = cy + dy;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const n = ny * width + nx;
        if (data[n]! > data[best]!) best = n;
      }
    }
    if (best === at) return at;
    at = best;
  }
}

/** The 8-connected area of pixels at or above `level` containing `start`; marks it in `mark`. */
function floodFill({ width, height, data }: HeatmapPixels, start: number, level: number, background: number, mark: Uint8Array): Area {
  const area: Area = { box: { x0: width, y0: height, x1: -1, y1: -1 }, imageLeftHeat: 0, imageRightHeat: 0, max: 0 };
  const stack = [start];
  mark[start] = 1;
  while (stack.length > 0) {
    const at = stack.pop()!;
    const x = at % width;
    const y = (at - x) / width;
    const v = data[at]!;
    const { box } = area;
    box.x0 = Math.min(box.x0, x);
    box.x1 = Math.max(box.x1, x);
    box.y0 = Math.min(box.y0, y);
    box.y1 = Math.max(box.y1, y);
    area.max = Math.max(area.max, v);
    // A pixel the midline runs through is shared between the sides by the part on each.
    const leftShare = Math.min(1, Math.max(0, (MIDLINE_X - x / width) * width));
    const heat = v - background;
    area.imageLeftHeat += heat * leftShare;
    area.imageRightHeat += heat * (1 - leftShare);
    for (let dy = -1; dy <= 1; dy++) {
      for (let dx = -1; dx <= 1; dx++) {
        const nx = x + dx;
        const ny = y + dy;
        if (nx < 0 || ny < 0 || nx >= width || ny >= height) continue;
        const n = ny * width + nx;
        if (mark[n] || data[n]! < level) continue;
        mark[n] = 1;
        stack.push(n);
      }
    }
  }
  return area;
}

function sideOf(area: Area, width: number): Side {
  const total = area.imageLeftHeat + area.imageRightHeat;
  const minor = Math.min(area.imageLeftHeat, area.imageRightHeat);
  if (total > 0 && minor / total >= MIDLINE_SHARE) {
    const reachesBoth = area.box.x0 / width < LATERAL_BAND && (area.box.x1 + 1) / width > 1 - LATERAL_BAND;
    return reachesBoth ? 'bilateral' : 'midline';
  }
  // Image left is the patient's right.
  return area.imageLeftHeat >= area.imageRightHeat ? 'right' : 'left';
}

/** A separate hot area, on the other side from `side`, whose peak reaches `minPeak`; null if none. */
function opposingArea(heatmap: HeatmapPixels, level: number, background: number, minPeak: number, side: 'right' | 'left', mark: Uint8Array): Area | null {
  const { width, height, data } = heatmap;
  for (let i = 0; i < width * height; i++) {
    if (mark[i] || data[i]! < minPeak) continue;
    const area = floodFill(heatmap, i, level, background, mark);
    if (sideOf(area, width) === (side === 'right' ? 'left' : 'right')) return area;
  }
  return null;
}
