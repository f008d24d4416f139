// Writes the training set of the Hugging Face report decoder (train-hf-decoder.py): phantoms from
// @cxr/phantom framed as make-dataset.ts frames them (the generator's own finding mix, no boost),
// run through the shipped reference vision graph, and the report each phantom was written with.
//
//   tsx make-text-dataset.ts --out data/text-a --seed 1000000 --count 4000 [--model ..]
//
// Files (little endian, N = count, C = the vision graph's conditioning width, 239):
//   conditioning.f32  N*C  float32  the vision graph's `conditioning` output
//   labels.u8         N*5  0/1 in label order (FINDING_CODES)
//   tiers.u8          N*5  0 absent, 1 obvious, 2 subtle
//   reports.jsonl     N lines {"findings": "...", "impression": "..."}
//   meta.json         count, seed, width, labels, the vision graph's sha256
// Image i uses phantom seed `seed + i`, with make-dataset.ts's framing: aspect 1 half of the
// time, else 1.0-1.3; rendered 256 px wide, one in five 384 px wide.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import { manifestPreprocessing, modelManifestSchema } from '@cxr/inference';
import { createRng, FINDING_CODES, generatePhantom, toUint16 } from '@cxr/phantom';

const BATCH = 32;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { out: { type: 'string' }, seed: { type: 'string' }, count: { type: 'string' }, model: { type: 'string', default: resolve(import.meta.dirname, '..') }, width: { type: 'string', default: '256' } } });
  if (!values.out || !values.seed || !values.count) throw new Error('usage: make-text-dataset.ts --out DIR --seed N --count M [--model DIR] [--width 256]');
  const out = values.out;
  const seed = Number(values.seed);
  const count = Number(values.count);
  const S = Number(values.width);
  const manifest = modelManifestSchema.parse(JSON.parse(readFileSync(join(values.model!, 'manifest.json'), 'utf8')));
  const visionBytes = readFileSync(join(values.model!, manifest.input.file));
  const session = await ort.InferenceSession.create(visionBytes, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  const prep = manifestPreprocessing(manifest);
  const per = prep.channels * prep.size * prep.size;
  const K = FINDING_CODES.length;
  mkdirSync(out, { recursive: true });
  let C = 0;
  let conditioning = new Float32Array(0);
  const labels = new Uint8Array(count * K);
  const tiers = new Uint8Array(count * K);
  const reports: string[] = [];
  const t0 = performance.now();
  for (let start = 0; start < count; start += BATCH) {
    const n = Math.min(BATCH, count - start);
    const batch = new Float32Array(n * per);
    for (let j = 0; j < n; j++) {
      const i = start + j;
      const s = seed + i;
      const r = createRng(s ^ 0x7e3a9b1);
      const aspect = r.chance(0.5) ? 1 : r.uniform(1, 1.3);
      const width = Math.round(S * (r.chance(0.2) ? 1.5 : 1));
      const p = generatePhantom({ seed: s, size: width, aspect });
      await prep.into({ width: p.width, height: p.height, data: toUint16(p) }, batch.subarray(j * per, (j + 1) * per));
      for (const f of p.findings) {
        const k = FINDING_CODES.indexOf(f.code);
        labels[i * K + k] = 1;
        tiers[i * K + k] = f.tier === 'obvious' ? 1 : 2;
      }
      reports.push(JSON.stringify({ findings: p.reportText.findings, impression: p.reportText.impression }));
    }
    const res = await session.run({ [manifest.input.name]: new ort.Tensor('float32', batch, [n, prep.channels, prep.size, prep.size]) });
    const cond = res.conditioning as ort.Tensor;
    if (C === 0) {
      C = cond.dims[1]!;
      conditioning = new Float32Array(count * C);
    }
    conditioning.set(cond.data as Float32Array, start * C);
    if ((start + n) % 1000 < BATCH) console.log(`${out}: ${start + n}/${count} (${((performance.now() - t0) / (start + n)).toFixed(1)} ms/image)`);
  }
  const w = (name: string, a: ArrayBufferView): void => writeFileSync(join(out, name), new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  w('conditioning.f32', conditioning);
  w('labels.u8', labels);
  w('tiers.u8', tiers);
  writeFileSync(join(out, 'reports.jsonl'), `${reports.join('\n')}\n`);
  const visionSha256 = createHash('sha256').update(visionBytes).digest('hex');
  writeFileSync(join(out, 'meta.json'), JSON.stringify({ count, seed, width: S, conditioningWidth: C, labels: FINDING_CODES, vision: { file: manifest.input.file, sha256: visionSha256 } }, null, 2));
  console.log(`${out}: wrote ${count} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await session.release();
}

await main();
