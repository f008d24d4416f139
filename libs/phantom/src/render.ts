// Renders a phantom by evaluating a density model at every pixel centre in anatomy space.
// Resolution independence: geometry is in millimetres; thin structures (pleural line, vessels,
// rib cortex) use `thinLine`, whose integral does not depend on the pixel pitch; small lesions are
// supersampled; and the noise is a field on a fixed 128-across lattice (bilinear in between) plus a
// fine per-pixel grain whose amplitude grows with resolution so that averaging back to 128 px gives
// the same grain as a 128 px render.
import { FIELD_OF_VIEW_MM, lungSd, type Anatomy, type Lung } from './anatomy.ts';
import type { PlacedFinding } from './findings.ts';
import { clamp, segmentDistance, smoothstep, thinLine } from './geometry.ts';
import { hashNormal, valueNoise } from './rng.ts';

const NOISE_GRID = 128;
const FINE_GRAIN = 0.004;

export interface RenderResult {
  pixels: Float32Array;
  masks: Uint8Array[];
}

function lesionDensity(f: PlacedFinding, ax: number, ay: number): number {
  const s = f.shape;
  if (s.kind !== 'lesion') return 0;
  const dx = ax - s.cx;
  const dy = ay - s.cy;
  const d2 = dx * dx + dy * dy;
  const rMax = s.r * 1.25;
  if (d2 > rMax * rMax) return 0;
  const th = Math.atan2(dy, dx);
  let reff = 1;
  const hs = s.harmonics;
  for (let h = 0; h < hs.length; h++) {
    const [k, amp, ph] = hs[h]!;
    reff += amp * Math.cos(k * th + ph);
  }
  reff *= s.r;
  const q2 = d2 / (reff * reff);
  return q2 < 1 ? s.density * Math.sqrt(1 - q2) : 0;
}

function lesionInside(f: PlacedFinding, ax: number, ay: number): boolean {
  const s = f.shape;
  if (s.kind !== 'lesion') return false;
  const dx = ax - s.cx;
  const dy = ay - s.cy;
  const rMax = s.r * 1.25;
  if (dx * dx + dy * dy > rMax * rMax) return false;
  const th = Math.atan2(dy, dx);
  let reff = 1;
  const hs = s.harmonics;
  for (let h = 0; h < hs.length; h++) {
    const [k, amp, ph] = hs[h]!;
    reff += amp * Math.cos(k * th + ph);
  }
  reff *= s.r;
  return dx * dx + dy * dy < reff * reff;
}

function effusionLevel(lung: Lung, depth: number, meniscus: number, ax: number): number {
  const u = clamp((lung.sign * ax - lung.medBot) / (lung.latMax - lung.medBot), 0, 1);
  return lung.yCp - depth - meniscus * u * u;
}

export function renderPhantom(anatomy: Anatomy, findings: PlacedFinding[], width: number, height: number): RenderResult {
  const ps = FIELD_OF_VIEW_MM / width;
  const fovH = height * ps;
  const pixels = new Float32Array(width * height);
  const masks = findings.map(() => new Uint8Array(width * height));
  const cosR = Math.cos(anatomy.rotation);
  const sinR = Math.sin(anatomy.rotation);
  const { k, lo, hi, gradient } = anatomy.exposure;
  const lungs = [anatomy.lungs.right, anatomy.lungs.left];
  const heart = anatomy.heart;
  const cell = FIELD_OF_VIEW_MM / NOISE_GRID;
  const fineSigma = FINE_GRAIN * (width / NOISE_GRID);
  const sub = [-1 / 3, 0, 1 / 3];

  for (let j = 0; j < height; j++) {
    const y = (j + 0.5) * ps - fovH / 2;
    for (let i = 0; i < width; i++) {
      const x = (i + 0.5) * ps - FIELD_OF_VIEW_MM / 2;
      const dx = x - anatomy.tx;
      const dy = y - anatomy.ty;
      const ax = (cosR * dx + sinR * dy) / anatomy.scale;
      const ay = (-sinR * dx + cosR * dy) / anatomy.scale;
      const pixelMm = ps / anatomy.scale;

      // Body soft tissue, wider towards the abdomen.
      const halfW = anatomy.bodyHalfWidth + 0.05 * (ay + 150);
      let D = smoothstep(3, -3, Math.abs(ax) - halfW);
      if (D <= 0) {
        pixels[j * width + i] = lo;
        continue;
      }
      // Shoulder soft tissue above the clavicles.
      D += 0.18 * smoothstep(anatomy.clavicleY0 - 5, anatomy.clavicleY0 - 25, ay) * smoothstep(50, 80, Math.abs(ax));

      // Heart silhouette.
      const hx = (ax - heart.cx) / heart.rx;
      const hy = (ay - heart.cy) / heart.ry;
      const hr = Math.sqrt(hx * hx + hy * hy);
      const heartSd = (hr - 1) * 0.5 * (heart.rx + heart.ry);
      const heartSoft = smoothstep(2, -2, heartSd);
      D += 0.1 * heartSoft;

      let air = 0;
      let markings = 0;
      for (const lung of lungs) {
        const sd = lungSd(lung, ax, ay);
        if (sd > 3) continue;
        const inLung = smoothstep(2.5, -2.5, sd);
        let lungAir = inLung * 0.78 * (0.55 + 0.45 * clamp(-sd / 30, 0, 1));
        // Lung markings: vessels fanning out from the hilum plus fine texture.
        let mark = 0.035 * valueNoise(anatomy.textureSeed, ax / 7, ay / 7);
        const hdx = ax - lung.hilum[0];
        const hdy = (ay - lung.hilum[1]) * 0.6; // taller than wide
        mark += 0.12 * Math.exp(-(hdx * hdx + hdy * hdy) / 200);
        for (const v of anatomy.vessels[lung.side]) {
          const margin = v.widthMm * 2 + pixelMm;
          if (ax < Math.min(v.x0, v.x1) - margin || ax > Math.max(v.x0, v.x1) + margin) continue;
          if (ay < Math.min(v.y0, v.y1) - margin || ay > Math.max(v.y0, v.y1) + margin) continue;
          mark += v.density * thinLine(segmentDistance(ax, ay, v.x0, v.y0, v.x1, v.y1), v.widthMm, pixelMm);
        }
        mark *= inLung;
        for (const f of findings) {
          const s = f.shape;
          if (s.kind === 'effusion' && s.lung === lung) {
            const level = effusionLevel(lung, s.depth, s.meniscus, ax);
            const fluid = smoothstep(level - 2, level + 2, ay) * inLung;
            lungAir *= 1 - fluid;
            mark *= 1 - fluid;
            D += 0.08 * fluid;
          } else if (s.kind === 'pneumothorax' && s.lung === lung) {
            const cx = s.anchorX + (ax - s.anchorX) / s.factor;
            const cy = s.anchorY + (ay - s.anchorY) / s.factor;
            const sdC = s.factor * lungSd(lung, cx, cy);
            const rim = smoothstep(-1, 1, sdC) * inLung;
            D -= s.lucency * rim;
            mark *= 1 - rim;
            D += 0.14 * thinLine(Math.abs(sdC), 1.0, pixelMm) * smoothstep(0, -2, sd);
          }
        }
        air += lungAir;
        markings += mark;
      }
      D -= air * (1 - 0.9 * heartSoft);
      D += markings * (1 - 0.7 * heartSoft);

      // Spine (faint behind the mediastinum), trachea.
      const sp = smoothstep(18, 15, Math.abs(ax));
      if (sp > 0) D += 0.22 * sp * (0.85 + 0.15 * Math.cos((2 * Math.PI * ay) / 26));
      const tr = smoothstep(8, 6, Math.abs(ax)) * smoothstep(lungs[0]!.hilum[1] - 25, lungs[0]!.hilum[1] - 40, ay);
      D -= 0.2 * tr;

      // Posterior ribs: distance to a quadratic curve per rib, measured across it.
      for (const rib of anatomy.ribs) {
        const a = rib.sign * ax;
        if (a < 12 || a > rib.aEnd) continue;
        const t = a - 15;
        const yc = rib.y0 + rib.slope * t + rib.curve * t * t;
        const dyc = ay - yc;
        if (dyc > 9 || dyc < -9) continue;
        const sl = rib.slope + 2 * rib.curve * t;
        const dist = Math.abs(dyc) / Math.sqrt(1 + sl * sl);
        const fade = smoothstep(rib.aEnd, rib.aEnd - 12, a);
        D += fade * (0.08 * smoothstep(5, 3.8, dist) + 0.05 * thinLine(Math.abs(dist - 4.5), 1.2, pixelMm));
      }
      // Clavicles.
      for (let c = 0; c < 2; c++) {
        const a = (c === 0 ? -1 : 1) * ax;
        if (a < 8 || a > 160) continue;
        const t = a - 10;
        const yc = anatomy.clavicleY0 - 0.17 * t + 0.00045 * t * t;
        const sl = -0.17 + 0.0009 * t;
        const dist = Math.abs(ay - yc) / Math.sqrt(1 + sl * sl);
        D += 0.28 * smoothstep(7.5, 5.5, dist) * smoothstep(160, 150, a);
      }

      // Lesions (supersampled when small relative to the pixel) and masks.
      const idx = j * width + i;
      for (let f = 0; f < findings.length; f++) {
        const fd = findings[f]!;
        const s = fd.shape;
        if (s.kind === 'lesion') {
          if (pixelMm * 3 > s.r) {
            let acc = 0;
            for (const oy of sub) for (const ox of sub) acc += lesionDensity(fd, ax + ox * pixelMm, ay + oy * pixelMm);
            D += acc / 9;
          } else {
            D += lesionDensity(fd, ax, ay);
          }
          if (lesionInside(fd, ax, ay)) masks[f]![idx] = 1;
        } else if (s.kind === 'effusion') {
          if (lungSd(s.lung, ax, ay) < 0 && ay > effusionLevel(s.lung, s.depth, s.meniscus, ax)) masks[f]![idx] = 1;
        } else if (s.kind === 'pneumothorax') {
          if (lungSd(s.lung, ax, ay) < 0) {
            const cx = s.anchorX + (ax - s.anchorX) / s.factor;
            const cy = s.anchorY + (ay - s.anchorY) / s.factor;
            if (lungSd(s.lung, cx, cy) > 0) masks[f]![idx] = 1;
          }
        } else if (heartSd < 0) {
          masks[f]![idx] = 1;
        }
      }

      // Display mapping, noise on a fixed lattice plus fine grain.
      let v = lo + (hi - lo) * (1 - Math.exp(-k * Math.max(D, 0))) + gradient * (ay / 200);
      const gx = (x + FIELD_OF_VIEW_MM / 2) / cell - 0.5;
      const gy = (y + fovH / 2) / cell - 0.5;
      const gi = Math.floor(gx);
      const gj = Math.floor(gy);
      const fx = gx - gi;
      const fy = gy - gj;
      const n00 = hashNormal(anatomy.noiseSeed, gi, gj);
      const n10 = hashNormal(anatomy.noiseSeed, gi + 1, gj);
      const n01 = hashNormal(anatomy.noiseSeed, gi, gj + 1);
      const n11 = hashNormal(anatomy.noiseSeed, gi + 1, gj + 1);
      const n = n00 * (1 - fx) * (1 - fy) + n10 * fx * (1 - fy) + n01 * (1 - fx) * fy + n11 * fx * fy;
      v += anatomy.noiseSigma * n + fineSigma * hashNormal(anatomy.noiseSeed ^ 0x2545f491, i, j);
      pixels[idx] = clamp(v, 0, 1);
    }
  }
  return { pixels, masks };
}

