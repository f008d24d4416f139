// Findings: which ones a phantom gets (a documented random mix unless forced) and where they go.
//
// Random mix (when `findings` is not given):
//   30% normal; otherwise one finding (70%) or two different ones (30%), codes drawn with weights
//   nodule 0.25, pleural_effusion 0.22, pneumothorax 0.20, cardiomegaly 0.18, mass 0.15;
//   tier 'obvious' or 'subtle' with equal odds (unless `tier` is given), side left/right equally,
//   nodule/mass zone upper/middle/lower equally; effusions sit at the base ('lower'), pneumothoraces
//   at the apex ('upper').
//
// Sizes and contrasts by tier (density units; lung parenchyma is about 0.3, soft tissue 1.0):
//   nodule  obvious 14–28 mm, +0.45–0.70 | subtle 8–13 mm, +0.30–0.45 (hard but visible: see below)
//   mass    obvious 35–70 mm, +0.40–0.60 | subtle 30–40 mm, +0.15–0.22
//   effusion depth above the costophrenic angle: obvious 35–80 mm | subtle 12–22 mm (blunting)
//   pneumothorax apical rim: obvious 18–40 mm | subtle 6–12 mm (less lucent)
//   cardiomegaly cardiothoracic ratio: obvious 0.60–0.70 | subtle 0.53–0.57 (normal 0.39–0.47)
// Subtle nodule criterion ("hard but visible"): at the reference model's 256 px input, the fixed
// blob filter models/reference-cxr/training/blob-baseline.py (matched to 8–13 mm) reaches a
// peak-value AUC in 0.75–0.90 with a pointing game ≥ 0.5 on all-subtle phantoms. The former
// +0.15–0.25 gave 0.60 / 0.29 (below visibility); +0.30–0.45 gives 0.82–0.83 / 0.72–0.75.
import { lungSd, makeHeart, zoneBounds, type Anatomy, type Lung } from './anatomy.ts';
import type { Rng } from './rng.ts';
import { FINDING_CODES, type FindingCode, type FindingSpec, type Side, type Tier, type Zone } from './types.ts';

const CODE_WEIGHTS: Record<FindingCode, number> = {
  nodule: 0.25,
  mass: 0.15,
  pleural_effusion: 0.22,
  cardiomegaly: 0.18,
  pneumothorax: 0.2,
};

export function sampleFindingSpecs(rng: Rng): FindingSpec[] {
  if (rng.chance(0.3)) return [];
  const count = rng.chance(0.7) ? 1 : 2;
  const codes: FindingCode[] = [];
  while (codes.length < count) {
    const code = rng.weighted(FINDING_CODES, FINDING_CODES.map((c) => CODE_WEIGHTS[c]));
    if (!codes.includes(code)) codes.push(code);
  }
  return codes.map((code) => ({ code }));
}

export interface LesionShape {
  kind: 'lesion';
  cx: number;
  cy: number;
  r: number;
  harmonics: [number, number, number][]; // [order, amplitude, phase]
  density: number;
}
export interface EffusionShape {
  kind: 'effusion';
  lung: Lung;
  depth: number;
  meniscus: number;
}
export interface PneumothoraxShape {
  kind: 'pneumothorax';
  lung: Lung;
  anchorX: number;
  anchorY: number;
  factor: number;
  lucency: number;
}
export interface HeartShape {
  kind: 'heart';
}
export type Shape = LesionShape | EffusionShape | PneumothoraxShape | HeartShape;

export interface PlacedFinding {
  code: FindingCode;
  side: Side | null;
  zone: Zone | null;
  sizeMm: number;
  tier: Tier;
  ctr?: number;
  shape: Shape;
}

function lesionFits(anatomy: Anatomy, lung: Lung, x: number, y: number, r: number): boolean {
  if (lungSd(lung, x, y) > -(0.55 * r + 4)) return false;
  const h = anatomy.heart;
  const q = ((x - h.cx) / (h.rx + 0.5 * r)) ** 2 + ((y - h.cy) / (h.ry + 0.5 * r)) ** 2;
  return q > 1;
}

/**
 * Places the findings in anatomy space. Cardiomegaly is applied first (it changes the heart that
 * lesions must avoid). Mutates `anatomy.heart` / `anatomy.ctr` for cardiomegaly.
 */
export function placeFindings(rng: Rng, anatomy: Anatomy, specs: FindingSpec[], defaultTier: Tier | undefined): PlacedFinding[] {
  const ordered = [...specs].sort((a, b) => Number(b.code === 'cardiomegaly') - Number(a.code === 'cardiomegaly'));
  const placed: PlacedFinding[] = [];
  for (const spec of ordered) {
    const tier: Tier = spec.tier ?? defaultTier ?? (rng.chance(0.5) ? 'obvious' : 'subtle');
    const subtle = tier === 'subtle';
    const side: Side = spec.side ?? (rng.chance(0.5) ? 'right' : 'left');
    const lung = anatomy.lungs[side];
    switch (spec.code) {
      case 'cardiomegaly': {
        const ctr = subtle ? rng.uniform(0.53, 0.57) : rng.uniform(0.6, 0.7);
        const width = ctr * anatomy.thoracicWidthMm;
        anatomy.heart = makeHeart(anatomy.lungs, width, rng.uniform(-5, 5), rng.uniform(0.66, 0.74));
        anatomy.ctr = ctr;
        placed.push({ code: 'cardiomegaly', side: null, zone: null, sizeMm: Math.round(width), tier, ctr: Math.round(ctr * 100) / 100, shape: { kind: 'heart' } });
        break;
      }
      case 'nodule':
      case 'mass': {
        const isMass = spec.code === 'mass';
        const zone: Zone = spec.zone ?? rng.pick(['upper', 'middle', 'lower'] as const);
        let size = spec.sizeMm ?? (isMass ? (subtle ? rng.uniform(30, 40) : rng.uniform(35, 70)) : subtle ? rng.uniform(8, 13) : rng.uniform(14, 28));
        size = Math.round(size);
        const density = isMass ? (subtle ? rng.uniform(0.15, 0.22) : rng.uniform(0.4, 0.6)) : subtle ? rng.uniform(0.3, 0.45) : rng.uniform(0.45, 0.7);
        const [y0, y1] = zoneBounds(lung, zone);
        let cx = 0;
        let cy = 0;
        let found = false;
        // Rejection sampling inside the zone; shrink a lesion that does not fit anywhere.
        for (let attempt = 0; attempt < 400 && !found; attempt++) {
          const r = size / 2;
          const yLo = y0 + Math.min(r * 0.6, (y1 - y0) * 0.3);
          const yHi = y1 - Math.min(r * 0.6, (y1 - y0) * 0.3);
          cy = rng.uniform(yLo, yHi);
          cx = lung.sign * rng.uniform(lung.medTop + 5, lung.latMax - 5);
          found = lesionFits(anatomy, lung, cx, cy, r);
          if (!found && attempt % 100 === 99) size = Math.max(isMass ? 30 : 6, Math.round(size * 0.85));
        }
        if (!found) {
          // Fall back to the lung's centre line in the zone (always inside the lung).
          cy = (y0 + y1) / 2;
          cx = lung.sign * (lung.medTop + lung.latMax) * 0.55;
        }
        const harmonics: [number, number, number][] = [
          [2, rng.uniform(0, isMass ? 0.1 : 0.05), rng.uniform(0, 6.283)],
          [3, rng.uniform(0, isMass ? 0.1 : 0.04), rng.uniform(0, 6.283)],
          [5, rng.uniform(0, isMass ? 0.06 : 0.02), rng.uniform(0, 6.283)],
        ];
        placed.push({ code: spec.code, side, zone, sizeMm: size, tier, shape: { kind: 'lesion', cx, cy, r: size / 2, harmonics, density } });
        break;
      }
      case 'pleural_effusion': {
        const depth = Math.round(spec.sizeMm ?? (subtle ? rng.uniform(12, 22) : rng.uniform(35, 80)));
        placed.push({ code: 'pleural_effusion', side, zone: 'lower', sizeMm: depth, tier, shape: { kind: 'effusion', lung, depth, meniscus: 0.5 * depth + 10 } });
        break;
      }
      case 'pneumothorax': {
        const rim = Math.round(spec.sizeMm ?? (subtle ? rng.uniform(6, 12) : rng.uniform(18, 40)));
        const anchorX = lung.sign * (lung.medBot + 10);
        const anchorY = lung.yCp;
        const factor = 1 - rim / (anchorY - lung.yApex);
        placed.push({
          code: 'pneumothorax',
          side,
          zone: 'upper',
          sizeMm: rim,
          tier,
          shape: { kind: 'pneumothorax', lung, anchorX, anchorY, factor, lucency: subtle ? rng.uniform(0.06, 0.09) : rng.uniform(0.12, 0.18) },
        });
        break;
      }
    }
  }
  return placed;
}

