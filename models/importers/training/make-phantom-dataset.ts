// Writes a labelled phantom set preprocessed exactly as a CheXNet-layout (format v2) package's
// manifest says, by the function the worker itself uses (@cxr/inference `manifestPreprocessing`):
// centre crop to 224 px, grey replicated into 3 channels, ImageNet mean/std per channel.
//
//   tsx make-phantom-dataset.ts --manifest <package>/manifest.json --out data/train --seed 1100000 --count 4000
//
// The 3 channels are one grey plane normalised three ways, so only channel 0 is stored; train.py
// rebuilds channels 1 and 2 from it (grey = c0 * std0 + mean0, then (grey - mean_c) / std_c). This
// script checks that rebuild against the tensor the manifest's preprocessing wrote, on every image.
//
// Files (little endian, N = count, S = input size):
//   images.i16  N*S*S int16  round(channel 0 * 4096)  (|channel 0| < 2.3: no clamping)
//   labels.u8   N*5          0/1 in @cxr/phantom FINDING_CODES order
//   tiers.u8    N*5          0 absent, 1 obvious, 2 subtle
//   meta.json                count, seed, shapes, scale, codes, the manifest's input section
// Image i uses phantom seed `seed + i`, rendered 256..320 px wide (uniform), aspect 1 half of
// the time, else 1.0..1.3 (the evaluation draws 1..1.25 at 256 px).
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { manifestPreprocessing, modelManifestSchema, isManifestV2 } from '@cxr/inference';
import { createRng, FINDING_CODES, generatePhantom, toUint16 } from '@cxr/phantom';

export const IMAGE_SCALE = 4096;
/** Largest difference allowed between the rebuilt channels 1, 2 and the manifest's (int16 rounding of channel 0 is 1.2e-4 before scaling by std0/std_c). */
const REBUILD_TOLERANCE = 2e-4;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      manifest: { type: 'string' },
      out: { type: 'string' },
      seed: { type: 'string' },
      count: { type: 'string' },
      'min-width': { type: 'string', default: '256' },
      'max-width': { type: 'string', default: '320' },
    },
  });
  if (!values.manifest || !values.out || !values.seed || !values.count)
    throw new Error('usage: make-phantom-dataset.ts --manifest <package>/manifest.json --out DIR --seed N --count M [--min-width 256] [--max-width 320]');
  const manifest = modelManifestSchema.parse(JSON.parse(readFileSync(values.manifest, 'utf8')));
  if (!isManifestV2(manifest) || manifest.input.channels !== 3 || manifest.input.normalisation.method !== 'mean-std')
    throw new Error(`${values.manifest}: expected a format v2 manifest with 3 channels and mean-std normalisation (the chexnet layout)`);
  const { mean, std } = manifest.input.normalisation;
  const prep = manifestPreprocessing(manifest);
  const S = prep.size;
  const plane = S * S;
  const seed = Number(values.seed);
  const count = Number(values.count);
  const minWidth = Number(values['min-width']);
  const maxWidth = Number(values['max-width']);
  const K = FINDING_CODES.length;
  const images = new Int16Array(count * plane);
  const labels = new Uint8Array(count * K);
  const tiers = new Uint8Array(count * K);
  const tensor = new Float32Array(3 * plane);
  let worstRebuild = 0;
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const s = seed + i;
    const r = createRng(s ^ 0x5c4e7d1);
    const aspect = r.chance(0.5) ? 1 : r.uniform(1, 1.3);
    const width = Math.round(r.uniform(minWidth, maxWidth));
    const p = generatePhantom({ seed: s, size: width, aspect });
    await prep.into({ width: p.width, height: p.height, data: toUint16(p) }, tensor);
    for (let k = 0; k < plane; k++) {
      const q = Math.round(tensor[k]! * IMAGE_SCALE);
      if (q < -32768 || q > 32767) throw new Error(`seed ${s}: channel 0 value ${tensor[k]} does not fit int16 at scale ${IMAGE_SCALE}`);
      images[i * plane + k] = q;
      const grey = (q / IMAGE_SCALE) * std[0]! + mean[0]!;
      for (let c = 1; c < 3; c++) worstRebuild = Math.max(worstRebuild, Math.abs((grey - mean[c]!) / std[c]! - tensor[c * plane + k]!));
    }
    for (const finding of p.findings) {
      const k = FINDING_CODES.indexOf(finding.code);
      labels[i * K + k] = 1;
      tiers[i * K + k] = finding.tier === 'obvious' ? 1 : 2;
    }
    if ((i + 1) % 500 === 0) console.log(`${values.out}: ${i + 1}/${count} (${((performance.now() - t0) / (i + 1)).toFixed(1)} ms/image)`);
  }
  if (worstRebuild > REBUILD_TOLERANCE) throw new Error(`channels 1-2 rebuilt from channel 0 differ from the manifest's by ${worstRebuild} (> ${REBUILD_TOLERANCE})`);
  mkdirSync(values.out, { recursive: true });
  const w = (name: string, a: ArrayBufferView): void => writeFileSync(join(values.out!, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  w('images.i16', images);
  w('labels.u8', labels);
  w('tiers.u8', tiers);
  const meta = { count, seed, size: S, imageScale: IMAGE_SCALE, storedChannel: 0, worstRebuild, codes: FINDING_CODES, widths: [minWidth, maxWidth], input: manifest.input };
  writeFileSync(join(values.out, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
  console.log(`${values.out}: wrote ${count} images in ${((performance.now() - t0) / 1000).toFixed(1)} s (channels 1-2 rebuilt to ${worstRebuild.toExponential(2)})`);
}

await main();
