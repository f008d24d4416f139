/**
 * A rainbow-like colour map for heat (dark blue → cyan → green → yellow → red → dark red), in
 * the spirit of jet/turbo but with darker, less saturated ends so neither end reads as a
 * brighter band than the middle. Built by linear interpolation between hand-picked sRGB stops.
 */
type Rgb = readonly [number, number, number];

const STOPS: ReadonlyArray<readonly [position: number, colour: Rgb]> = [
  [0.0, [20, 20, 120]],
  [0.15, [10, 70, 230]],
  [0.35, [10, 190, 240]],
  [0.5, [40, 225, 130]],
  [0.65, [190, 235, 50]],
  [0.8, [255, 170, 20]],
  [0.92, [235, 70, 10]],
  [1.0, [160, 10, 10]],
];

function interpolate(t: number): Rgb {
  for (let i = 1; i < STOPS.length; i++) {
    const [p1, c1] = STOPS[i]!;
    if (t <= p1) {
      const [p0, c0] = STOPS[i - 1]!;
      const f = (t - p0) / (p1 - p0);
      return [0, 1, 2].map((k) => Math.round(c0[k]! + (c1[k]! - c0[k]!) * f)) as unknown as Rgb;
    }
  }
  return STOPS[STOPS.length - 1]![1];
}

/** 256 entries, index = 8-bit heat. Flat RGB triplets: entry i is at [3i, 3i+1, 3i+2]. */
export const HEAT_COLOUR_MAP: Uint8Array = (() => {
  const table = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) table.set(interpolate(i / 255), i * 3);
  return table;
})();
