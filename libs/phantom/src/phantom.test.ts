import { describe, expect, test } from 'vitest';
import { generatePhantom } from './phantom.ts';
import { FINDING_CODES, type Phantom, type Side, type Zone } from './types.ts';

function downsample(p: Phantom, factor: number): Float32Array {
  const w = p.width / factor;
  const h = Math.floor(p.height / factor);
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let dy = 0; dy < factor; dy++) for (let dx = 0; dx < factor; dx++) s += p.pixels[(y * factor + dy) * p.width + x * factor + dx]!;
      out[y * w + x] = s / (factor * factor);
    }
  return out;
}

function centroid(mask: Uint8Array, width: number): { x: number; y: number; n: number } {
  let sx = 0;
  let sy = 0;
  let n = 0;
  mask.forEach((m, i) => {
    if (m) {
      sx += i % width;
      sy += Math.floor(i / width);
      n++;
    }
  });
  return { x: sx / n, y: sy / n, n };
}

function meanInside(p: Phantom, mask: Uint8Array): number {
  let s = 0;
  let n = 0;
  mask.forEach((m, i) => {
    if (m) {
      s += p.pixels[i]!;
      n++;
    }
  });
  return s / n;
}

describe('generatePhantom', () => {
  test('the same seed gives bit-identical pixels, masks and report', () => {
    const a = generatePhantom({ seed: 42, size: 96 });
    const b = generatePhantom({ seed: 42, size: 96 });
    expect(Buffer.from(a.pixels.buffer).equals(Buffer.from(b.pixels.buffer))).toBe(true);
    expect(a.findings.map((f) => [f.code, f.side, f.zone, f.sizeMm])).toEqual(b.findings.map((f) => [f.code, f.side, f.zone, f.sizeMm]));
    a.findings.forEach((f, i) => expect(Buffer.from(f.mask).equals(Buffer.from(b.findings[i]!.mask))).toBe(true));
    expect(a.reportText).toEqual(b.reportText);
  });

  test('different seeds give different images', () => {
    const a = generatePhantom({ seed: 1 });
    const b = generatePhantom({ seed: 2 });
    expect(Buffer.from(a.pixels.buffer).equals(Buffer.from(b.pixels.buffer))).toBe(false);
  });

  test('values lie in [0,1], the field of view is 400 mm wide and the aspect sets the height', () => {
    const p = generatePhantom({ seed: 3, size: 100, aspect: 1.2 });
    expect(p.width).toBe(100);
    expect(p.height).toBe(120);
    expect(p.pixels.length).toBe(12000);
    expect(p.pixelSpacingMm * p.width).toBeCloseTo(400, 6);
    expect(Math.min(...p.pixels)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...p.pixels)).toBeLessThanOrEqual(1);
  });

  test.each([1, 7, 19])('a 512 px render downsampled to 128 px is close to the 128 px render (seed %i)', (seed) => {
    const small = generatePhantom({ seed, size: 128, tier: 'obvious' });
    const large = generatePhantom({ seed, size: 512, tier: 'obvious' });
    const down = downsample(large, 4);
    let diff = 0;
    for (let i = 0; i < down.length; i++) diff += Math.abs(down[i]! - small.pixels[i]!);
    expect(diff / down.length).toBeLessThan(0.03);
    expect(large.findings.map((f) => f.code)).toEqual(small.findings.map((f) => f.code));
  });

  test('forcing an empty finding list gives a normal study with normal report wording', () => {
    const p = generatePhantom({ seed: 5, findings: [] });
    expect(p.findings).toEqual([]);
    expect(Object.values(p.labels).every((v) => v === 0)).toBe(true);
    expect(p.reportText.impression).toBe('No acute cardiopulmonary abnormality.');
    expect(p.ctr).toBeLessThan(0.5);
  });

  test.each([
    ['right', 'upper'],
    ['right', 'middle'],
    ['right', 'lower'],
    ['left', 'upper'],
    ['left', 'middle'],
    ['left', 'lower'],
  ] as [Side, Zone][])('a forced %s %s zone nodule lies on that side of the image and in that zone', (side, zone) => {
    for (const seed of [11, 12, 13, 14, 15]) {
      const p = generatePhantom({ seed, findings: [{ code: 'nodule', side, zone }] });
      const f = p.findings[0]!;
      expect(f).toMatchObject({ code: 'nodule', side, zone });
      expect(f.sizeMm).toBeLessThan(30);
      const c = centroid(f.mask, p.width);
      expect(c.n).toBeGreaterThan(0);
      // Patient right is on the image left of a PA view.
      if (side === 'right') expect(c.x).toBeLessThan(p.width / 2);
      else expect(c.x).toBeGreaterThan(p.width / 2);
      // Lungs span roughly rows 0.1–0.8 of the image: thirds of that, with slack for positioning.
      const fy = c.y / p.height;
      if (zone === 'upper') expect(fy).toBeLessThan(0.4);
      if (zone === 'middle') {
        expect(fy).toBeGreaterThan(0.25);
        expect(fy).toBeLessThan(0.6);
      }
      if (zone === 'lower') expect(fy).toBeGreaterThan(0.45);
    }
  });

  test('nodules in upper, middle and lower zones of one anatomy are ordered from top to bottom', () => {
    for (const seed of [21, 22, 23]) {
      const ys = (['upper', 'middle', 'lower'] as const).map((zone) => {
        const p = generatePhantom({ seed, findings: [{ code: 'nodule', side: 'left', zone }] });
        return centroid(p.findings[0]!.mask, p.width).y;
      });
      expect(ys[0]).toBeLessThan(ys[1]!);
      expect(ys[1]).toBeLessThan(ys[2]!);
    }
  });

  test('masses are at least 30 mm and nodules smaller than 30 mm', () => {
    for (let seed = 0; seed < 20; seed++) {
      const tier = seed % 2 ? 'subtle' : 'obvious';
      const p = generatePhantom({ seed, tier, findings: [{ code: 'mass' }, { code: 'nodule' }] });
      expect(p.findings.find((f) => f.code === 'mass')!.sizeMm).toBeGreaterThanOrEqual(30);
      expect(p.findings.find((f) => f.code === 'nodule')!.sizeMm).toBeLessThan(30);
    }
  });

  test('an effusion fills the lung base and a pneumothorax sits at the apex, on the intended side', () => {
    for (const side of ['right', 'left'] as const) {
      const p = generatePhantom({ seed: 31, findings: [{ code: 'pleural_effusion', side }, { code: 'pneumothorax', side }] });
      const eff = centroid(p.findings.find((f) => f.code === 'pleural_effusion')!.mask, p.width);
      const ptx = centroid(p.findings.find((f) => f.code === 'pneumothorax')!.mask, p.width);
      expect(eff.y).toBeGreaterThan(ptx.y);
      expect(eff.y / p.height).toBeGreaterThan(0.55);
      for (const c of [eff, ptx]) {
        if (side === 'right') expect(c.x).toBeLessThan(p.width / 2);
        else expect(c.x).toBeGreaterThan(p.width / 2);
      }
    }
  });

  test('cardiomegaly has a cardiothoracic ratio above 0.5, no side and a heart-shaped mask', () => {
    for (const tier of ['obvious', 'subtle'] as const) {
      const p = generatePhantom({ seed: 8, tier, findings: [{ code: 'cardiomegaly' }] });
      const f = p.findings[0]!;
      expect(f.side).toBeNull();
      expect(f.zone).toBeNull();
      expect(f.ctr).toBeGreaterThan(0.5);
      expect(p.ctr).toBeGreaterThan(0.5);
      const c = centroid(f.mask, p.width);
      expect(Math.abs(c.x - p.width / 2)).toBeLessThan(p.width * 0.15);
    }
  });

  test('subtle findings have lower contrast than obvious ones', () => {
    // Subtle nodules are only moderately fainter (+0.30–0.45 against +0.45–0.70, besides being
    // smaller): fainter still and a fixed matched filter no longer sees them (findings.ts).
    const maxRatio = { nodule: 0.8, mass: 0.7, pneumothorax: 0.7 };
    for (const code of ['nodule', 'mass', 'pneumothorax'] as const) {
      let obvious = 0;
      let subtle = 0;
      for (let seed = 40; seed < 48; seed++) {
        const normal = generatePhantom({ seed, findings: [] });
        for (const tier of ['obvious', 'subtle'] as const) {
          const p = generatePhantom({ seed, findings: [{ code, side: 'right', zone: 'upper', tier }] });
          const mask = p.findings[0]!.mask;
          const contrast = Math.abs(meanInside(p, mask) - meanInside(normal, mask));
          if (tier === 'obvious') obvious += contrast;
          else subtle += contrast;
        }
      }
      expect(subtle, code).toBeLessThan(obvious * maxRatio[code]);
      expect(subtle, code).toBeGreaterThan(0);
    }
  });

  test('the random mix has normal studies and every finding code', () => {
    const seen = new Set<string>();
    let normal = 0;
    for (let seed = 0; seed < 300; seed++) {
      const p = generatePhantom({ seed, size: 32 });
      if (p.findings.length === 0) normal++;
      p.findings.forEach((f) => seen.add(f.code));
      expect(p.findings.length).toBeLessThanOrEqual(2);
    }
    expect(normal / 300).toBeGreaterThan(0.2);
    expect(normal / 300).toBeLessThan(0.4);
    expect([...seen].sort()).toEqual([...FINDING_CODES].sort());
  });
});
