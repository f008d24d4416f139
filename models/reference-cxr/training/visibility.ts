// How visible is a lesion at a given model input size? Contrast-to-noise ratio of generated
// lesions after exactly the preprocessing the model gets (@cxr/inference `preprocessInto`).
//
//   tsx visibility.ts --code nodule --tier subtle --count 300 --sizes 128,256,512 [--crops out.png]
//
// For each phantom seed the same anatomy and noise are rendered twice, with and without the lesion
// (@cxr/phantom draws anatomy, findings and noise from independent streams), at the evaluation's
// framing (256 px wide, aspect 1–1.25) or at `--render` px wide. Per input size:
//   lesion    = input pixels whose centre lies on the lesion mask
//   background= pixels in the ring 1.5..3 lesion radii from the lesion centre, off the mask
//   CNR       = (mean over lesion - mean over background) / SD over background, on the image WITH
//               the lesion (the local clutter a reader sees: vessels, ribs, texture, noise)
//   Rose SNR  = CNR * sqrt(lesion pixels): the Rose criterion says ~5 is needed to see a disc in
//               white noise (clutter here is not white, so it is a rough guide only)
// Size "full" means the phantom at its own resolution (no resize).
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { letterboxBox, preprocessInto } from '@cxr/inference';
import { createRng, generatePhantom, toUint16, type FindingCode, type Phantom, type Tier } from '@cxr/phantom';

interface Row {
  cnr: number;
  rose: number;
  pixels: number;
}

function measure(p: Phantom, mask: Uint8Array, view: Float32Array, size: number): Row | null {
  const box = letterboxBox(p.width, p.height, size);
  const f = p.width / box.width; // phantom pixels per input pixel
  const inside = (x: number, y: number): boolean => {
    const px = Math.min(p.width - 1, Math.floor((x + 0.5) * f));
    const py = Math.min(p.height - 1, Math.floor((y + 0.5) * f));
    return mask[py * p.width + px] === 1;
  };
  let sx = 0;
  let sy = 0;
  let n = 0;
  for (let y = 0; y < box.height; y++)
    for (let x = 0; x < box.width; x++)
      if (inside(x, y)) {
        sx += x;
        sy += y;
        n++;
      }
  if (n === 0) return null; // lesion smaller than one input pixel centre
  const cx = sx / n;
  const cy = sy / n;
  const r = Math.sqrt(n / Math.PI);
  let ls = 0;
  let bs = 0;
  let bs2 = 0;
  let bn = 0;
  const reach = Math.ceil(3 * r) + 1;
  for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(box.height - 1, Math.ceil(cy + reach)); y++)
    for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(box.width - 1, Math.ceil(cx + reach)); x++) {
      const v = view[(box.y + y) * size + box.x + x]!;
      if (inside(x, y)) {
        ls += v;
        continue;
      }
      const d = Math.hypot(x - cx, y - cy);
      if (d >= 1.5 * r && d <= 3 * r) {
        bs += v;
        bs2 += v * v;
        bn++;
      }
    }
  const bm = bs / bn;
  const sd = Math.sqrt(Math.max(bs2 / bn - bm * bm, 1e-12));
  const cnr = (ls / n - bm) / sd;
  return { cnr, rose: cnr * Math.sqrt(n), pixels: n };
}

const quantiles = (xs: number[]): string => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (t: number): number => s[Math.min(s.length - 1, Math.floor(t * s.length))]!;
  return `median ${q(0.5).toFixed(2)} [p10 ${q(0.1).toFixed(2)}, p25 ${q(0.25).toFixed(2)}, p75 ${q(0.75).toFixed(2)}]`;
};

async function crops(samples: { p: Phantom; mask: Uint8Array }[], label: string, out: string): Promise<void> {
  // A strip of 48 mm crops around the first lesions, at this input size, upscaled to 96 px each.
  const tile = 96;
  const tiles: Buffer[] = [];
  for (const { p, mask } of samples) {
    const size = label === 'full' ? Math.max(p.width, p.height) : Number(label);
    const view = new Float32Array(size * size);
    const box = await preprocessInto({ width: p.width, height: p.height, data: toUint16(p) }, { size, kernel: 'linear', epsilon: 1e-3 }, view);
    let sx = 0;
    let sy = 0;
    let n = 0;
    for (let y = 0; y < p.height; y++)
      for (let x = 0; x < p.width; x++)
        if (mask[y * p.width + x]) {
          sx += x;
          sy += y;
          n++;
        }
    const f = box.width / p.width;
    const half = Math.max(2, Math.round((24 / p.pixelSpacingMm) * f));
    const cx = Math.round((sx / n) * f) + box.x;
    const cy = Math.round((sy / n) * f) + box.y;
    const w = 2 * half;
    const buf = new Uint8Array(w * w);
    let lo = Infinity;
    let hi = -Infinity;
    for (let y = 0; y < w; y++)
      for (let x = 0; x < w; x++) {
        const v = view[Math.min(size - 1, Math.max(0, cy - half + y)) * size + Math.min(size - 1, Math.max(0, cx - half + x))]!;
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    for (let y = 0; y < w; y++)
      for (let x = 0; x < w; x++) {
        const v = view[Math.min(size - 1, Math.max(0, cy - half + y)) * size + Math.min(size - 1, Math.max(0, cx - half + x))]!;
        buf[y * w + x] = Math.round((255 * (v - lo)) / Math.max(hi - lo, 1e-6));
      }
    tiles.push(await sharp(buf, { raw: { width: w, height: w, channels: 1 } }).resize(tile, tile, { kernel: 'nearest' }).toColourspace('b-w').raw().toBuffer());
  }
  const strip = Buffer.alloc(tile * tile * tiles.length);
  tiles.forEach((t, k) => {
    for (let y = 0; y < tile; y++) t.copy(strip, y * tile * tiles.length + k * tile, y * tile, (y + 1) * tile);
  });
  await sharp(strip, { raw: { width: tile * tiles.length, height: tile, channels: 1 } }).png().toFile(out);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      code: { type: 'string', default: 'nodule' },
      tier: { type: 'string', default: 'subtle' },
      count: { type: 'string', default: '300' },
      seed: { type: 'string', default: '7000000' },
      render: { type: 'string', default: '256' },
      sizes: { type: 'string', default: '128,256,full' },
      crops: { type: 'string' },
      json: { type: 'string' },
    },
  });
  const code = values.code as FindingCode;
  const tier = values.tier as Tier;
  const count = Number(values.count);
  const seed = Number(values.seed);
  const render = Number(values.render);
  const sizes = values.sizes.split(',');
  const rows: Record<string, Row[]> = Object.fromEntries(sizes.map((s) => [s, []]));
  let missing: Record<string, number> = Object.fromEntries(sizes.map((s) => [s, 0]));
  const samples: { p: Phantom; mask: Uint8Array }[] = [];
  for (let i = 0; i < count; i++) {
    const s = seed + i;
    const aspect = createRng(s ^ 0x3141592).uniform(1, 1.25);
    const p = generatePhantom({ seed: s, size: render, aspect, findings: [{ code, tier }] });
    const mask = p.findings[0]!.mask;
    if (samples.length < 12) samples.push({ p, mask });
    for (const label of sizes) {
      const size = label === 'full' ? Math.max(p.width, p.height) : Number(label);
      const view = new Float32Array(size * size);
      await preprocessInto({ width: p.width, height: p.height, data: toUint16(p) }, { size, kernel: 'linear', epsilon: 1e-3 }, view);
      const row = measure(p, mask, view, size);
      if (row) rows[label]!.push(row);
      else missing = { ...missing, [label]: missing[label]! + 1 };
    }
  }
  const summary: Record<string, unknown> = { code, tier, count, seed, render };
  for (const label of sizes) {
    const r = rows[label]!;
    const px = label === 'full' ? `${render} px render` : `${label} px input`;
    console.log(`${code} ${tier} @ ${px}: CNR ${quantiles(r.map((x) => x.cnr))}; Rose SNR ${quantiles(r.map((x) => x.rose))}; ` +
      `lesion pixels ${quantiles(r.map((x) => x.pixels))}; CNR<1: ${(r.filter((x) => x.cnr < 1).length / count * 100).toFixed(0)}%; no pixel: ${missing[label]}`);
    const s = r.map((x) => x.cnr).sort((a, b) => a - b);
    const rs = r.map((x) => x.rose).sort((a, b) => a - b);
    summary[label] = { cnrMedian: s[Math.floor(s.length / 2)], cnrP10: s[Math.floor(s.length / 10)], roseMedian: rs[Math.floor(rs.length / 2)], shareCnrBelow1: r.filter((x) => x.cnr < 1).length / count, noPixel: missing[label] };
    if (values.crops) await crops(samples, label, values.crops.replace(/\.png$/, `-${label}.png`));
  }
  if (values.json) writeFileSync(values.json, JSON.stringify(summary, null, 2));
}

await main();
