// Seeded randomness. Two kinds are needed:
// - a sequential PRNG (mulberry32) for drawing the anatomy and findings of one phantom;
// - a stateless integer hash for noise fields, so a noise value depends only on
//   (seed, lattice cell) and never on the render size or on the order pixels are visited.

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(lo: number, hi: number): number;
  int(lo: number, hiInclusive: number): number;
  normal(): number;
  pick<T>(items: readonly T[]): T;
  weighted<T>(items: readonly T[], weights: readonly number[]): T;
  chance(p: number): boolean;
}

/** mulberry32: a small 32-bit generator, good enough for synthetic data and fully deterministic. */
export function createRng(seed: number): Rng {
  // Scramble the seed first so that neighbouring seeds start far apart.
  let a = hash01(seed, 0x3c6ef372, 0x7f4a7c15) * 4294967296;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const rng: Rng = {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    normal: () => {
      const u = Math.max(next(), 1e-12);
      const v = next();
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    },
    pick: (items) => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    weighted: (items, weights) => {
      const total = weights.reduce((s, w) => s + w, 0);
      let r = next() * total;
      for (let i = 0; i < items.length; i++) {
        r -= weights[i] ?? 0;
        if (r < 0) return items[i] as (typeof items)[number];
      }
      return items[items.length - 1] as (typeof items)[number];
    },
    chance: (p) => next() < p,
  };
  return rng;
}

/** Stateless 32-bit hash of (seed, i, j) → uniform [0, 1). */
export function hash01(seed: number, i: number, j: number): number {
  let h = (seed | 0) ^ Math.imul(i | 0, 0x27d4eb2d) ^ Math.imul(j | 0, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Approximately standard normal value for a lattice cell (sum of four uniforms, rescaled). */
export function hashNormal(seed: number, i: number, j: number): number {
  const s =
    hash01(seed, i, j) + hash01(seed ^ 0x5bd1e995, i, j) + hash01(seed ^ 0x1b873593, i, j) + hash01(seed ^ 0x68e31da4, i, j);
  return (s - 2) * 1.7320508; // variance of a sum of 4 U(0,1) is 1/3
}

/** Bilinear value noise on a lattice of the given cell size; roughly N(0,1) at lattice points. */
export function valueNoise(seed: number, gx: number, gy: number): number {
  const i = Math.floor(gx);
  const j = Math.floor(gy);
  const fx = gx - i;
  const fy = gy - j;
  const sx = fx * fx * (3 - 2 * fx);
  const sy = fy * fy * (3 - 2 * fy);
  const a = hashNormal(seed, i, j);
  const b = hashNormal(seed, i + 1, j);
  const c = hashNormal(seed, i, j + 1);
  const d = hashNormal(seed, i + 1, j + 1);
  return a + (b - a) * sx + (c - a) * sy + (a - b - c + d) * sx * sy;
}
