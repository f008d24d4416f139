// Anatomy of one phantom, drawn from the seed. Everything is in millimetres in "anatomy space":
// origin at the centre of the field of view, x to the image right (= patient LEFT on a PA view),
// y downwards. The whole field of view is 400 mm wide, so geometry never depends on pixels.
import { makePolygon, polygonSd, type Polygon } from './geometry.ts';
import type { Rng } from './rng.ts';
import type { Side } from './types.ts';

export const FIELD_OF_VIEW_MM = 400;

/** Image x sign of a patient side on a PA view: patient right → image left. */
export function sideSign(side: Side): -1 | 1 {
  return side === 'right' ? -1 : 1;
}

export interface Lung {
  side: Side;
  sign: -1 | 1;
  yApex: number;
  /** y of the lateral costophrenic angle. */
  yCp: number;
  latMax: number;
  medTop: number;
  medBot: number;
  domeH: number;
  outline: Polygon;
  hilum: [number, number];
}

export interface Vessel {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
  widthMm: number;
  density: number;
}

export interface Heart {
  cx: number;
  cy: number;
  rx: number;
  ry: number;
  widthMm: number;
}

export interface Rib {
  sign: -1 | 1;
  y0: number;
  slope: number;
  curve: number;
  aEnd: number;
}

export interface Anatomy {
  /** Patient positioning: rotation (rad), translation (mm) and scale applied to anatomy. */
  rotation: number;
  tx: number;
  ty: number;
  scale: number;
  lungs: Record<Side, Lung>;
  heart: Heart;
  ctr: number;
  thoracicWidthMm: number;
  ribs: Rib[];
  vessels: Record<Side, Vessel[]>;
  clavicleY0: number;
  bodyHalfWidth: number;
  /** Display: value = lo + (hi-lo) * (1 - exp(-k * density)) plus a vertical gradient. */
  exposure: { k: number; lo: number; hi: number; gradient: number };
  /** Std dev of the noise field, in display units at 128 px. */
  noiseSigma: number;
  noiseSeed: number;
  textureSeed: number;
}

/** Diaphragm height across the lung, u = 0 medially to 1 at the costophrenic angle. */
export function diaphragmY(lung: Lung, u: number): number {
  const q = (u - 0.4) / 0.6;
  return lung.yCp - lung.domeH * (1 - q * q);
}

function lungOutline(l: Omit<Lung, 'outline' | 'hilum'>, aApexL: number): Polygon {
  const pts: [number, number][] = [];
  const s = l.sign;
  const capR = (aApexL - l.medTop) / 2;
  const capCx = (aApexL + l.medTop) / 2;
  const capCy = l.yApex + capR;
  const g = (t: number): number => Math.pow(Math.sin((Math.min(t / 0.7, 1) * Math.PI) / 2), 0.7);
  // Lateral border, from the costophrenic angle up to the apex cap.
  for (let i = 0; i <= 16; i++) {
    const t = 1 - i / 16;
    pts.push([s * (aApexL + (l.latMax - aApexL) * g(t)), capCy + t * (l.yCp - capCy)]);
  }
  // Apex cap.
  for (let i = 1; i <= 10; i++) {
    const th = (i / 10) * Math.PI;
    pts.push([s * (capCx + capR * Math.cos(th)), capCy - capR * Math.sin(th)]);
  }
  // Medial border, down to the cardiophrenic end of the diaphragm.
  const lung = { ...l, outline: makePolygon([]), hilum: [0, 0] as [number, number] };
  const yMedBot = diaphragmY(lung, 0);
  for (let i = 1; i <= 8; i++) {
    const t = i / 8;
    pts.push([s * (l.medTop + (l.medBot - l.medTop) * Math.pow(t, 1.5)), capCy + t * (yMedBot - capCy)]);
  }
  // Diaphragm, medial to lateral (the costophrenic angle closes the outline).
  for (let i = 1; i < 16; i++) {
    const u = i / 16;
    pts.push([s * (l.medBot + u * (l.latMax - l.medBot)), diaphragmY(lung, u)]);
  }
  return makePolygon(pts);
}

export function sampleAnatomy(rng: Rng): Anatomy {
  const yApex = rng.uniform(-160, -140);
  const yCp = rng.uniform(90, 115);
  const latBase = rng.uniform(125, 145);
  const domeH = rng.uniform(28, 42);
  const lungs = {} as Record<Side, Lung>;
  for (const side of ['right', 'left'] as const) {
    const sign = side === 'right' ? -1 : 1;
    const base = {
      side,
      sign: sign as -1 | 1,
      yApex: yApex + rng.uniform(-4, 4),
      // The right hemidiaphragm usually sits higher than the left.
      yCp: yCp + (side === 'right' ? -rng.uniform(6, 16) : 0),
      latMax: latBase + rng.uniform(-4, 4),
      medTop: rng.uniform(18, 24),
      medBot: rng.uniform(28, 36),
      domeH: domeH + rng.uniform(-4, 4),
    };
    const outline = lungOutline(base, rng.uniform(62, 74));
    const hilum: [number, number] = [sign * (base.medTop + rng.uniform(18, 26)), base.yApex + 0.48 * (base.yCp - base.yApex)];
    lungs[side] = { ...base, outline, hilum };
  }
  const thoracicWidthMm = lungs.right.latMax + lungs.left.latMax;
  const ctr = rng.uniform(0.39, 0.47);
  const heart = makeHeart(lungs, thoracicWidthMm * ctr, rng.uniform(-5, 5), rng.uniform(0.68, 0.8));

  const ribs: Rib[] = [];
  const spacing = rng.uniform(21, 25);
  const ribStart = yApex - rng.uniform(4, 12);
  for (const sign of [-1, 1] as const) {
    for (let k = 0; k < 10; k++) {
      ribs.push({
        sign,
        y0: ribStart + k * spacing + rng.uniform(-1.5, 1.5),
        slope: -0.12 + rng.uniform(-0.02, 0.02),
        curve: 0.0028 + rng.uniform(-0.0003, 0.0003),
        aEnd: latBase + 18,
      });
    }
  }

  const vessels = {} as Record<Side, Vessel[]>;
  for (const side of ['right', 'left'] as const) {
    const lung = lungs[side];
    const list: Vessel[] = [];
    const [hx, hy] = lung.hilum;
    const n = 9;
    for (let i = 0; i < n; i++) {
      // Angles fan out from up-and-out to down-and-out (0 = lateral).
      const ang = -1.25 + (2.35 * i) / (n - 1) + rng.uniform(-0.12, 0.12);
      const len = rng.uniform(55, 95) * (1 - 0.25 * Math.abs(Math.sin(ang)));
      const dx = lung.sign * Math.cos(ang);
      const dy = Math.sin(ang);
      const mx = hx + dx * len * 0.55;
      const my = hy + dy * len * 0.55;
      // Vessels start a little away from the hilar point so they do not pile up into a bright,
      // nodule-like dot there; the hilum itself is a broad soft shadow (see render.ts).
      const start = rng.uniform(6, 12);
      list.push({ x0: hx + dx * start, y0: hy + dy * start, x1: mx, y1: my, widthMm: rng.uniform(3.5, 5), density: 0.1 });
      for (const turn of [-0.35, 0.35]) {
        const a2 = ang + turn + rng.uniform(-0.1, 0.1);
        const l2 = len * rng.uniform(0.45, 0.6);
        list.push({
          x0: mx,
          y0: my,
          x1: mx + lung.sign * Math.cos(a2) * l2,
          y1: my + Math.sin(a2) * l2,
          widthMm: rng.uniform(1.8, 2.6),
          density: 0.075,
        });
      }
    }
    vessels[side] = list;
  }

  return {
    rotation: rng.uniform(-0.05, 0.05),
    tx: rng.uniform(-10, 10),
    ty: rng.uniform(-10, 10),
    scale: rng.uniform(0.93, 1.07),
    lungs,
    heart,
    ctr,
    thoracicWidthMm,
    ribs,
    vessels,
    clavicleY0: yApex + rng.uniform(-6, 4),
    bodyHalfWidth: latBase + rng.uniform(24, 38),
    exposure: { k: rng.uniform(1.7, 2.4), lo: rng.uniform(0.02, 0.07), hi: rng.uniform(0.9, 1), gradient: rng.uniform(-0.04, 0.04) },
    noiseSigma: rng.uniform(0.008, 0.022),
    noiseSeed: (rng.next() * 2 ** 31) | 0,
    textureSeed: (rng.next() * 2 ** 31) | 0,
  };
}

/** Heart silhouette of a given transverse diameter; its apex points to the patient's left (image right). */
export function makeHeart(lungs: Record<Side, Lung>, widthMm: number, shift: number, heightRatio: number): Heart {
  const xRight = -0.36 * widthMm + shift;
  const xLeft = 0.64 * widthMm + shift;
  const rx = widthMm / 2;
  const ry = Math.min(rx * heightRatio, 75);
  // The lower heart border rests on the medial diaphragm.
  const cy = lungs.left.yCp - 8 - ry * 0.9;
  return { cx: (xRight + xLeft) / 2, cy, rx, ry, widthMm };
}

/** Which lung third a point lies in, by height between the apex and the costophrenic angle. */
export function zoneBounds(lung: Lung, zone: 'upper' | 'middle' | 'lower'): [number, number] {
  const h = lung.yCp - lung.yApex;
  const k = zone === 'upper' ? 0 : zone === 'middle' ? 1 : 2;
  return [lung.yApex + (k * h) / 3, lung.yApex + ((k + 1) * h) / 3];
}

/** Signed distance (mm) to a lung's outline, negative inside. */
export function lungSd(lung: Lung, x: number, y: number): number {
  return polygonSd(lung.outline, x, y);
}
