/**
 * Timings for the README and reviews: `npx tsx libs/dicom/scripts/bench.ts [runs]`.
 * Median of `runs` (default 10) after one warm-up, in-process, on the shared samples.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeFrame, initializeCodecs, IsolatedFrameDecoder, parseInstance, toPresentation } from '../src/index.ts';
import { SAMPLES_DIR } from '../src/samples.test-support.ts';

const runs = Number(process.argv[2] ?? 10);

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function time(fn: () => void): number {
  fn();
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    fn();
    samples.push(performance.now() - started);
  }
  return median(samples);
}

const t0 = performance.now();
await initializeCodecs();
console.log(`initializeCodecs: ${(performance.now() - t0).toFixed(1)} ms`);

for (const file of ['RG3_J2KI.dcm', 'JPEG-LL.dcm', 'JPGExtended.dcm', 'CT_small.dcm', 'image_dfl.dcm', 'examples_ybr_color.dcm']) {
  const bytes = readFileSync(join(SAMPLES_DIR, file));
  const instance = parseInstance(bytes);
  const frame = decodeFrame(instance, 0);
  const parse = time(() => parseInstance(bytes));
  const decode = time(() => decodeFrame(instance, 0));
  const present = frame.samplesPerPixel === 1 ? time(() => toPresentation(frame, instance)) : NaN;
  console.log(
    `${file.padEnd(24)} ${instance.columns}x${instance.rows}  parse ${parse.toFixed(2)} ms  decode ${decode.toFixed(1)} ms  present ${present.toFixed(1)} ms`,
  );
}

const decoder = new IsolatedFrameDecoder();
const rg3 = readFileSync(join(SAMPLES_DIR, 'RG3_J2KI.dcm'));
const first = performance.now();
await decoder.decode(rg3, 0);
const cold = performance.now() - first;
const warm: number[] = [];
for (let i = 0; i < runs; i++) {
  const started = performance.now();
  await decoder.decode(rg3, 0);
  warm.push(performance.now() - started);
}
await decoder.close();
console.log(`IsolatedFrameDecoder RG3_J2KI: first call (worker start) ${cold.toFixed(0)} ms, then median ${median(warm).toFixed(0)} ms`);
