import type { Region } from '@cxr/contracts';
import { normaliseCode } from './finding-geometry.ts';

/**
 * A size the draft may state, measured on the image: the hot area of the finding's heatmap
 * (`region`, fractions of the image) times the image's size in pixels times its pixel spacing.
 *
 * Only for findings whose extent the hot area shows: a nodule or a mass, about round, whose size
 * is its diameter, taken as the mean of the area's width and height, to the millimetre. Not for
 * a pneumothorax (its size is the depth of the rim, which a box along the pleura does not give)
 * nor a cardiothoracic ratio (it needs the thorax's width): those are never measured here, so
 * the draft never states them.
 *
 * The area is taken as the lesion's only when it looks like one: about round (neither side of
 * the box more than twice the other) and of the size that makes the finding what it is (a
 * nodule is at most 30 mm across, a mass more: the Fleischner Society's definitions). A map
 * warm over a whole lung gives a box of 100+ mm for a 20 mm nodule; that is no measurement, and
 * the size is left out. The heatmap is coarse (about 32 cells across the image, some 12 mm each
 * on a 400 mm film), so even a kept figure is as rough as the map: the evaluation harness
 * reports its error against the phantoms' truth.
 */

/** Largest diameter of a nodule; anything larger is a mass (Fleischner Society glossary). */
export const NODULE_MAX_MM = 30;
/** Largest ratio of the hot area's longer side to its shorter for it to count as one round lesion. */
export const MAX_LESION_ASPECT = 2;

export interface MeasurableImage {
  width: number;
  height: number;
  /** mm per pixel; absent when the image's DICOM header did not say. */
  pixelSpacingMm?: number | undefined;
}

const DIAMETER_FINDINGS = new Set(['nodule', 'mass']);

/** The measured size in mm, or null when this finding's size cannot be measured on this image. */
export function measuredSizeMm(code: string, region: Region | null, image: MeasurableImage): number | null {
  const spacing = image.pixelSpacingMm;
  if (!DIAMETER_FINDINGS.has(normaliseCode(code)) || !region || spacing === undefined || !(spacing > 0) || !Number.isFinite(spacing)) return null;
  const widthMm = region.width * image.width * spacing;
  const heightMm = region.height * image.height * spacing;
  if (!(Math.min(widthMm, heightMm) > 0) || Math.max(widthMm, heightMm) > MAX_LESION_ASPECT * Math.min(widthMm, heightMm)) return null;
  const size = Math.round((widthMm + heightMm) / 2);
  const nodule = normaliseCode(code) === 'nodule';
  if (nodule ? size > NODULE_MAX_MM : size <= NODULE_MAX_MM) return null;
  return size >= 1 ? size : null;
}
