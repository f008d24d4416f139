// Writes a binary training/validation set from @cxr/phantom, preprocessed by the very function
// the inference library uses (@cxr/inference `preprocessInto`).
//
//   tsx make-dataset.ts --out data/train --seed 1000000 --count 6000 [--size 256] [--subtle-boost 0.25]
//
// Files (little endian, N = count, S = input size (256), G = 32 heatmap grid, L = max tokens):
//   images.i16  N*S*S int16  = round(normalised value * 2048), clamped to int16
//   labels.u8   N*5          0/1 in manifest label order (FINDING_CODES)
//   tiers.u8    N*5          0 absent, 1 obvious, 2 subtle
//   masks.u8    N*5*G*G      fraction (0..255) of each grid cell covered by the finding's mask
//   tokens.u16  N*L          encoded report, <pad> = 0
//   forced.u8   N            1 if --subtle-boost forced this image's finding (train.py keeps
//                            these out of the decoder's training: see there)
//   meta.json                counts, seeds, shapes, vocabulary
// Image i uses phantom seed `seed + i`; aspect 1 half of the time, else 1.0–1.3; rendered S px
// wide (the evaluation's framing: a tall image is resized down into the letterbox), one in five
// 1.5 S wide so a stronger downsizing is seen too.
// --subtle-boost p: with probability p an image is forced to hold one subtle-tier finding, a
// nodule (70%) or a pneumothorax (30%), the two findings the 128 px model 0.2.0 missed most;
// otherwise the generator's random mix. Use it for training shards only (validation and
// evaluation keep the generator's own mix, so thresholds and metrics are not shifted).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { letterboxBox, preprocessInto, type InputSpec } from '@cxr/inference';
import { createRng, FINDING_CODES, generatePhantom, toUint16, type FindingSpec } from '@cxr/phantom';
import { buildVocabulary, encodeReport } from '../src/tokenizer.ts';

export const DEFAULT_INPUT_SIZE = 256;
export const GRID = 32;
export const MAX_TOKENS = 64;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      out: { type: 'string' },
      seed: { type: 'string' },
      count: { type: 'string' },
      tier: { type: 'string' },
      size: { type: 'string', default: String(DEFAULT_INPUT_SIZE) },
      'subtle-boost': { type: 'string', default: '0' },
    },
  });
  if (!values.out || !values.seed || !values.count)
    throw new Error('usage: make-dataset.ts --out DIR --seed N --count M [--size 256] [--tier subtle|obvious] [--subtle-boost P]');
  const INPUT_SPEC: InputSpec = { size: Number(values.size), kernel: 'linear', epsilon: 1e-3 };
  const boost = Number(values['subtle-boost']);
  const out = values.out;
  const seed = Number(values.seed);
  const count = Number(values.count);
  const tier = values.tier as 'subtle' | 'obvious' | undefined;
  const S = INPUT_SPEC.size;
  const K = FINDING_CODES.length;
  const vocabulary = buildVocabulary();
  mkdirSync(out, { recursive: true });
  const images = new Int16Array(count * S * S);
  const labels = new Uint8Array(count * K);
  const tiers = new Uint8Array(count * K);
  const masks = new Uint8Array(count * K * GRID * GRID);
  const tokens = new Uint16Array(count * MAX_TOKENS);
  const forcedFlags = new Uint8Array(count);
  const view = new Float32Array(S * S);
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const s = seed + i;
    const r = createRng(s ^ 0x7e3a9b1);
    const aspect = r.chance(0.5) ? 1 : r.uniform(1, 1.3);
    const width = Math.round(S * (r.chance(0.2) ? 1.5 : 1));
    const forced: FindingSpec[] | undefined = boost > 0 && r.chance(boost) ? [{ code: r.chance(0.7) ? 'nodule' : 'pneumothorax', tier: 'subtle' }] : undefined;
    const p = generatePhantom({ seed: s, size: width, aspect, ...(tier ? { tier } : {}), ...(forced ? { findings: forced } : {}) });
    if (forced) forcedFlags[i] = 1;
    await preprocessInto({ width: p.width, height: p.height, data: toUint16(p) }, INPUT_SPEC, view);
    for (let k = 0; k < S * S; k++) images[i * S * S + k] = Math.max(-32768, Math.min(32767, Math.round(view[k]! * 2048)));
    const box = letterboxBox(p.width, p.height, S);
    const f = box.width / p.width; // input pixels per phantom pixel
    for (const finding of p.findings) {
      const k = FINDING_CODES.indexOf(finding.code);
      labels[i * K + k] = 1;
      tiers[i * K + k] = finding.tier === 'obvious' ? 1 : 2;
      const acc = new Float32Array(GRID * GRID);
      for (let y = 0; y < p.height; y++)
        for (let x = 0; x < p.width; x++) {
          if (!finding.mask[y * p.width + x]) continue;
          const gx = Math.floor(((box.x + (x + 0.5) * f) * GRID) / S);
          const gy = Math.floor(((box.y + (y + 0.5) * f) * GRID) / S);
          if (gx >= 0 && gx < GRID && gy >= 0 && gy < GRID) acc[gy * GRID + gx]! += 1;
        }
      const perCell = (S / GRID / f) ** 2; // phantom pixels in one grid cell
      for (let c = 0; c < GRID * GRID; c++) masks[(i * K + k) * GRID * GRID + c] = Math.min(255, Math.round((acc[c]! / perCell) * 255));
    }
    tokens.set(encodeReport(p.reportText, vocabulary, MAX_TOKENS), i * MAX_TOKENS);
    if ((i + 1) % 1000 === 0) console.log(`${out}: ${i + 1}/${count} (${((performance.now() - t0) / (i + 1)).toFixed(1)} ms/image)`);
  }
  const w = (name: string, a: ArrayBufferView): void => writeFileSync(join(out, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  w('images.i16', images);
  w('labels.u8', labels);
  w('tiers.u8', tiers);
  w('masks.u8', masks);
  w('tokens.u16', tokens);
  w('forced.u8', forcedFlags);
  writeFileSync(
    join(out, 'meta.json'),
    JSON.stringify({ count, seed, tier: tier ?? null, subtleBoost: boost, size: S, grid: GRID, maxTokens: MAX_TOKENS, imageScale: 2048, labels: FINDING_CODES, vocabulary, input: INPUT_SPEC }, null, 2),
  );
  console.log(`${out}: wrote ${count} images in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();
