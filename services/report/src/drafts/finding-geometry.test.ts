import sharp from 'sharp';
import { describe, expect, test } from 'vitest';
import { generatePhantom, type FindingSpec } from '@cxr/phantom';
import {
  decodeHeatmap,
  findingGeometry,
  HeatmapInputError,
  heatmapGeometry,
  MIDDLE_ZONE_END,
  NO_GEOMETRY,
  UPPER_ZONE_END,
  zoneAt,
  type HeatmapPixels,
} from './finding-geometry.ts';

/** A heatmap of `width` x `height` whose value at pixel (x, y) is `value(fx, fy)` of the pixel centre's fractions. */
function heatmap(width: number, height: number, value: (fx: number, fy: number) => number): HeatmapPixels {
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data[y * width + x] = Math.max(0, Math.min(255, Math.round(value((x + 0.5) / width, (y + 0.5) / height))));
  }
  return { width, height, data };
}

const inBox = (fx: number, fy: number, x0: number, y0: number, x1: number, y1: number): boolean => fx >= x0 && fx < x1 && fy >= y0 && fy < y1;
const blob = (cx: number, cy: number, sigma: number, amplitude: number) => (fx: number, fy: number) =>
  amplitude * Math.exp(-((fx - cx) ** 2 + (fy - cy) ** 2) / (2 * sigma * sigma));

describe('findingGeometry: region', () => {
  test('boxes the area at or above half the peak height over the background, not the warm rim around it', () => {
    // Background 20, a ring of 100 (under the half level 20 + 90 = 110), a core of 200.
    const map = heatmap(40, 40, (fx, fy) => (inBox(fx, fy, 0.25, 0.5, 0.4, 0.6) ? 200 : inBox(fx, fy, 0.15, 0.4, 0.5, 0.7) ? 100 : 20));
    expect(findingGeometry(map, { x: 0.3, y: 0.55 }, 'nodule').region).toEqual({ x: 0.25, y: 0.5, width: 0.15, height: 0.1 });
  });

  test('leaves out a separate hot spot on the same side of the chest', () => {
    const map = heatmap(40, 40, (fx, fy) => (inBox(fx, fy, 0.1, 0.2, 0.2, 0.3) || inBox(fx, fy, 0.3, 0.6, 0.4, 0.7) ? 220 : 10));
    expect(findingGeometry(map, { x: 0.15, y: 0.25 }, 'mass').region).toEqual({ x: 0.1, y: 0.2, width: 0.1, height: 0.1 });
  });

  test('moves a peak that is a pixel off onto the local maximum', () => {
    const map = heatmap(20, 20, blob(0.725, 0.425, 0.06, 240));
    const exact = findingGeometry(map, { x: 0.725, y: 0.425 }, 'nodule');
    expect(findingGeometry(map, { x: 0.675, y: 0.475 }, 'nodule')).toEqual(exact);
    expect(exact.region!.x).toBeLessThan(0.725);
    expect(exact.region!.x + exact.region!.width).toBeGreaterThan(0.725);
  });

  test.each([
    ['a flat map', heatmap(16, 16, () => 90)],
    ['an all-zero map', heatmap(16, 16, () => 0)],
    ['a map whose peak stands only 8 above the background', heatmap(16, 16, (fx, fy) => (inBox(fx, fy, 0.5, 0.5, 0.6, 0.6) ? 38 : 30))],
    ['an empty map', { width: 0, height: 0, data: new Uint8Array(0) }],
  ])('finds no region, side or zone on %s', (_name, map) => {
    expect(findingGeometry(map, { x: 0.55, y: 0.55 }, 'nodule')).toEqual(NO_GEOMETRY);
  });

  test('keeps the region inside the image for a peak given outside it', () => {
    const map = heatmap(10, 10, (fx, fy) => (inBox(fx, fy, 0.8, 0, 1, 0.2) ? 255 : 0));
    expect(findingGeometry(map, { x: 1.5, y: -0.2 }, 'nodule').region).toEqual({ x: 0.8, y: 0, width: 0.2, height: 0.2 });
  });

  test('falls back to the hottest spot when the given peak lies on cold background', () => {
    const map = heatmap(10, 10, (fx, fy) => (inBox(fx, fy, 0.8, 0, 1, 0.2) ? 255 : inBox(fx, fy, 0.6, 0.7, 0.8, 0.9) ? 200 : 0));
    expect(findingGeometry(map, { x: 0.5, y: 0.5 }, 'nodule').region).toEqual({ x: 0.8, y: 0, width: 0.2, height: 0.2 });
    expect(findingGeometry(map, { x: Number.NaN, y: 0.45 }, 'nodule').region).toEqual({ x: 0.8, y: 0, width: 0.2, height: 0.2 });
    // A peak on the cooler spot keeps that spot: it is a hot area of its own.
    expect(findingGeometry(map, { x: 0.7, y: 0.8 }, 'nodule').region).toEqual({ x: 0.6, y: 0.7, width: 0.2, height: 0.2 });
  });
});

describe('findingGeometry: side', () => {
  test.each([
    ['on the image left', 0.25, 'right'],
    ['on the image right', 0.75, 'left'],
  ] as const)('names the patient side of a spot %s (patient right is image left)', (_where, x, side) => {
    expect(findingGeometry(heatmap(32, 32, blob(x, 0.45, 0.05, 230)), { x, y: 0.45 }, 'nodule').side).toBe(side);
  });

  test('calls a spot on the midline midline, with no lung zone', () => {
    const geometry = findingGeometry(heatmap(32, 32, blob(0.5, 0.3, 0.05, 230)), { x: 0.5, y: 0.3 }, 'mass');
    expect(geometry).toMatchObject({ side: 'midline', zone: null });
  });

  test('calls a hot band across both lung fields bilateral', () => {
    const map = heatmap(40, 40, (fx, fy) => (inBox(fx, fy, 0.15, 0.6, 0.85, 0.7) ? 200 : 0));
    expect(findingGeometry(map, { x: 0.3, y: 0.65 }, 'pleural_effusion')).toMatchObject({ side: 'bilateral', zone: 'lower' });
  });

  test('calls two separate spots of nearly the same heat, one each side, bilateral and boxes both', () => {
    const map = heatmap(40, 40, (fx, fy) => (inBox(fx, fy, 0.1, 0.6, 0.3, 0.7) ? 230 : inBox(fx, fy, 0.7, 0.65, 0.9, 0.75) ? 200 : 10));
    expect(findingGeometry(map, { x: 0.2, y: 0.65 }, 'pleural_effusion')).toEqual({
      region: { x: 0.1, y: 0.6, width: 0.8, height: 0.15 },
      side: 'bilateral',
      zone: 'lower',
    });
  });

  test('keeps one side when the spot on the other side is much cooler', () => {
    const map = heatmap(40, 40, (fx, fy) => (inBox(fx, fy, 0.1, 0.6, 0.3, 0.7) ? 230 : inBox(fx, fy, 0.7, 0.6, 0.9, 0.7) ? 140 : 10));
    expect(findingGeometry(map, { x: 0.2, y: 0.65 }, 'pleural_effusion')).toEqual({
      region: { x: 0.1, y: 0.6, width: 0.2, height: 0.1 },
      side: 'right',
      zone: 'lower',
    });
  });

  test('calls cardiomegaly midline with no zone even when only one heart border is hot', () => {
    const map = heatmap(32, 32, blob(0.7, 0.6, 0.05, 220));
    const geometry = findingGeometry(map, { x: 0.7, y: 0.6 }, 'cardiomegaly');
    expect(geometry).toMatchObject({ side: 'midline', zone: null });
    expect(geometry.region).not.toBeNull();
  });
});

describe('findingGeometry: zone', () => {
  test.each([
    [0.2, 'upper'],
    [UPPER_ZONE_END - 0.01, 'upper'],
    [UPPER_ZONE_END, 'middle'],
    [0.45, 'middle'],
    [MIDDLE_ZONE_END - 0.01, 'middle'],
    [MIDDLE_ZONE_END, 'lower'],
    [0.65, 'lower'],
    [0.95, 'lower'],
    [0.02, 'upper'],
  ] as const)('puts height %f of the image in the %s zone', (y, zone) => {
    expect(zoneAt(y)).toBe(zone);
  });

  test('places a pneumothorax by its apical peak, though its hot rim runs down the lateral border', () => {
    // Like the reference model's map: hottest at the apex, fading down the chest wall to the base.
    const map = heatmap(27, 32, (fx, fy) => {
      const border = Math.abs(fx - (0.3 - 0.2 * (fy - 0.2))) < 0.05;
      return fy > 0.18 && fy < 0.7 && border ? 250 - 230 * ((fy - 0.18) / 0.52) : 5;
    });
    const geometry = findingGeometry(map, { x: 0.29, y: 0.21 }, 'pneumothorax');
    expect(geometry).toMatchObject({ side: 'right', zone: 'upper' });
    expect(geometry.region!.y + geometry.region!.height).toBeGreaterThan(UPPER_ZONE_END);
  });
});

describe('heatmapGeometry', () => {
  test('reads the 8-bit grey PNG the worker writes', async () => {
    const map = heatmap(27, 32, blob(0.7, 0.3, 0.06, 250));
    const png = await sharp(Buffer.from(map.data), { raw: { width: 27, height: 32, channels: 1 } }).png().toBuffer();
    expect(await decodeHeatmap(png)).toEqual(map);
    expect(await heatmapGeometry(png, { x: 0.7, y: 0.3 }, 'nodule')).toEqual(findingGeometry(map, { x: 0.7, y: 0.3 }, 'nodule'));
    expect((await heatmapGeometry(png, { x: 0.7, y: 0.3 }, 'nodule')).side).toBe('left');
  });

  test('refuses a heatmap that is not an image, as a permanent error', async () => {
    await expect(heatmapGeometry(Buffer.from('not a png'), { x: 0.5, y: 0.5 }, 'nodule')).rejects.toBeInstanceOf(HeatmapInputError);
  });
});

describe('findingGeometry on phantom ground truth', () => {
  // The finding's mask as a heatmap (255 inside), at about the reference model's heatmap
  // resolution, with the peak at the mask pixel nearest the mask's centroid.
  function maskHeatmap(spec: FindingSpec, seed: number, aspect: number) {
    const phantom = generatePhantom({ seed, size: 64, aspect, tier: 'obvious', findings: [spec] });
    const finding = phantom.findings[0]!;
    const { width, height } = phantom;
    const data = Uint8Array.from(finding.mask, (m) => m * 255);
    let n = 0;
    let sx = 0;
    let sy = 0;
    for (let i = 0; i < data.length; i++) {
      if (!data[i]) continue;
      n += 1;
      sx += i % width;
      sy += Math.floor(i / width);
    }
    let peak = 0;
    let bestDistance = Infinity;
    for (let i = 0; i < data.length; i++) {
      const distance = (i % width - sx / n) ** 2 + (Math.floor(i / width) - sy / n) ** 2;
      if (data[i] && distance < bestDistance) [peak, bestDistance] = [i, distance];
    }
    return { finding, map: { width, height, data }, peak: { x: ((peak % width) + 0.5) / width, y: (Math.floor(peak / width) + 0.5) / height } };
  }

  test('agrees with the generator\'s side always and its zone nine times in ten, on seeded phantom nodules, masses and effusions', () => {
    const misses: string[] = [];
    let cases = 0;
    for (const aspect of [1, 1.2]) {
      for (let seed = 1; seed <= 12; seed++) {
        const side = seed % 2 ? 'right' : 'left';
        const zone = (['upper', 'middle', 'lower'] as const)[seed % 3]!;
        for (const spec of [{ code: 'nodule', side, zone }, { code: 'mass', side, zone }, { code: 'pleural_effusion', side }] as FindingSpec[]) {
          const { finding, map, peak } = maskHeatmap(spec, seed * 31 + spec.code.length, aspect);
          const geometry = findingGeometry(map, peak, spec.code);
          cases += 1;
          expect(geometry.side, `${spec.code} seed ${seed} aspect ${aspect}`).toBe(finding.side);
          if (geometry.zone !== finding.zone) misses.push(`${spec.code} ${finding.zone} read as ${geometry.zone} (peak y ${peak.y.toFixed(3)})`);
        }
      }
    }
    expect(cases).toBe(72);
    expect(misses.length, misses.join('; ')).toBeLessThanOrEqual(7);
  });

  test('boxes exactly the mask of a phantom nodule', () => {
    const { map, peak } = maskHeatmap({ code: 'nodule', side: 'left', zone: 'middle', sizeMm: 30 }, 7, 1.2);
    let [x0, y0, x1, y1] = [map.width, map.height, -1, -1];
    for (let i = 0; i < map.data.length; i++) {
      if (!map.data[i]) continue;
      const [x, y] = [i % map.width, Math.floor(i / map.width)];
      [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
    expect(findingGeometry(map, peak, 'nodule').region).toEqual({ x: x0 / map.width, y: y0 / map.height, width: (x1 + 1 - x0) / map.width, height: (y1 + 1 - y0) / map.height });
  });
});
