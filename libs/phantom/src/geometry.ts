// Small 2-D helpers. All distances are in millimetres of "anatomy" space.

export function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Hermite step: 0 at e0, 1 at e1 (e0 may be greater than e1). */
export function smoothstep(e0: number, e1: number, x: number): number {
  const t = clamp((x - e0) / (e1 - e0), 0, 1);
  return t * t * (3 - 2 * t);
}

export interface Polygon {
  /** Interleaved x,y vertices of a closed outline. */
  xy: Float64Array;
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
}

export function makePolygon(points: [number, number][]): Polygon {
  const xy = new Float64Array(points.length * 2);
  let minX = Infinity;
  let maxX = -Infinity;
  let minY = Infinity;
  let maxY = -Infinity;
  points.forEach(([x, y], i) => {
    xy[2 * i] = x;
    xy[2 * i + 1] = y;
    minX = Math.min(minX, x);
    maxX = Math.max(maxX, x);
    minY = Math.min(minY, y);
    maxY = Math.max(maxY, y);
  });
  return { xy, minX, maxX, minY, maxY };
}

/** Signed distance to a polygon outline: negative inside. Returns `far` outside the padded bounding box. */
export function polygonSd(poly: Polygon, px: number, py: number, far = 1e3): number {
  if (px < poly.minX - 20 || px > poly.maxX + 20 || py < poly.minY - 20 || py > poly.maxY + 20) return far;
  const v = poly.xy;
  const n = v.length / 2;
  let d2 = Infinity;
  let inside = false;
  let x0 = v[2 * n - 2] as number;
  let y0 = v[2 * n - 1] as number;
  for (let i = 0; i < n; i++) {
    const x1 = v[2 * i] as number;
    const y1 = v[2 * i + 1] as number;
    const ex = x1 - x0;
    const ey = y1 - y0;
    const wx = px - x0;
    const wy = py - y0;
    const len2 = ex * ex + ey * ey;
    const t = len2 > 0 ? clamp((wx * ex + wy * ey) / len2, 0, 1) : 0;
    const dx = wx - ex * t;
    const dy = wy - ey * t;
    const dd = dx * dx + dy * dy;
    if (dd < d2) d2 = dd;
    if (y0 > py !== y1 > py && px < x0 + ((py - y0) * ex) / ey) inside = !inside;
    x0 = x1;
    y0 = y1;
  }
  const d = Math.sqrt(d2);
  return inside ? -d : d;
}

/** Distance from a point to a segment. */
export function segmentDistance(px: number, py: number, x0: number, y0: number, x1: number, y1: number): number {
  const ex = x1 - x0;
  const ey = y1 - y0;
  const wx = px - x0;
  const wy = py - y0;
  const len2 = ex * ex + ey * ey;
  const t = len2 > 0 ? clamp((wx * ex + wy * ey) / len2, 0, 1) : 0;
  const dx = wx - ex * t;
  const dy = wy - ey * t;
  return Math.sqrt(dx * dx + dy * dy);
}

/**
 * Profile of a thin line of physical width `widthMm` seen at a pixel pitch of `pixelMm`:
 * a Gaussian whose width never drops below the pixel, with its amplitude scaled so that its
 * integral (what a detector pixel would collect) is the same at every resolution.
 */
export function thinLine(distance: number, widthMm: number, pixelMm: number): number {
  const sigma = Math.max(widthMm * 0.5, pixelMm * 0.5);
  const amp = (widthMm * 0.5) / sigma;
  return amp * Math.exp((-0.5 * distance * distance) / (sigma * sigma));
}
