// Where the generated text puts a nodule or mass ("A 14 mm nodule in the right upper zone."), so
// the evaluation can check it against the ground truth and against the finding's own heatmap.
import { zoneOfImageHeight } from '@cxr/contracts';
import type { Side, Zone } from '@cxr/phantom';

export interface TextLocation {
  code: 'nodule' | 'mass';
  side: Side;
  zone: Zone;
}

const LESION_SENTENCE = /\b(nodule|mass) in the (right|left) (upper|middle|lower) zone\b/g;

/** Every nodule/mass sentence of a findings text with its side and zone, in order. */
export function readLesionLocations(findings: string): TextLocation[] {
  return [...findings.matchAll(LESION_SENTENCE)].map((m) => ({ code: m[1] as TextLocation['code'], side: m[2] as Side, zone: m[3] as Zone }));
}

/**
 * Lung zone of a heatmap peak's height (0 = top of the image), with the cut-offs the report
 * service reads a zone from a heatmap with (`LUNG_ZONE_CUTOFFS` in @cxr/contracts), so "text zone
 * = heatmap zone" here means the same as the draft's grounding check.
 */
export function zoneOfHeight(y: number): Zone {
  return zoneOfImageHeight(y);
}

/** Patient side of a heatmap peak's x on a PA image (patient right = image left). */
export function sideOfX(x: number): Side {
  return x < 0.5 ? 'right' : 'left';
}
