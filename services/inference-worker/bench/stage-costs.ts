/**
 * Where a worker's per-image time goes: each stage of one analysis timed on its own, serially,
 * in this process (s3rver in-process, one 1024×1229 image, the reference model on CPU with the
 * worker's default of one intra-op thread), with wall and CPU time (this process's CPU, s3rver's
 * included). Both input paths are shown: the small raw analysis input (what ingest stores now) and
 * the full-size presentation PNG (the fallback for older jobs). `--model <dir>` times another
 * package (v1 or v2, e.g. models/chexnet-phantom) instead of the reference model; the bare
 * `session.run` of its vision graph on an already preprocessed tensor is timed beside `analyse`.
 * A companion to worker-bench.ts, for when the overhead ratio is far from the goal.
 *
 *   npx tsx services/inference-worker/bench/stage-costs.ts [--model <package dir>]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { ANALYSIS_INPUT_RESIZE_KERNEL, analysisInputSize, encodeAnalysisInput } from '@cxr/contracts';
import { freePort, startS3Server } from '@cxr/devstack';
import { loadModelPackage, manifestPreprocessing } from '@cxr/inference';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { ObjectStore } from '@cxr/platform';
import { decodePresentationPng, readAnalysisInput } from '@cxr/inference';
import { encodeHeatmapPng } from '../src/analysis/images.ts';

const BUCKET = 'stage-costs';
const dir = mkdtempSync(join(tmpdir(), 'cxr-stage-costs-'));
const s3 = await startS3Server({ port: await freePort(), dir, buckets: [BUCKET], reset: true });
const { values: args } = parseArgs({ options: { model: { type: 'string' } } });
const modelDir = args.model ? resolve(args.model) : referenceModelDir;
const model = await loadModelPackage(modelDir, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
const bare = await ort.InferenceSession.create(join(modelDir, model.manifest.input.file), { executionProviders: ['cpu'], intraOpNumThreads: 1 });
try {
  const objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  // The first phantom (seed 1, 2, ...) the package reads: an image out of its scope has no findings or heatmaps to time.
  const prepare = async (seed: number) => {
    const phantom = generatePhantom({ seed, size: 1024, aspect: 1.2 });
    const full = toUint16(phantom);
    const raw = { width: phantom.width, height: phantom.height, channels: 1 as const };
    // As ingest stores them: 16-bit grey PNG (zlib level 6) and the raw analysis input.
    const png = await sharp(full, { raw }).toColourspace('grey16').png({ compressionLevel: 6 }).toBuffer();
    const size = analysisInputSize(phantom.width, phantom.height);
    const small = await sharp(full, { raw }).resize(size.width, size.height, { kernel: ANALYSIS_INPUT_RESIZE_KERNEL, fit: 'fill' }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
    const input = encodeAnalysisInput({ ...size, data: new Uint16Array(small.buffer, small.byteOffset, small.length / 2) });
    // As the worker passes it: the scope's size check is on the image as acquired (analyse-study.ts).
    const image = { ...readAnalysisInput(input, phantom), source: { width: phantom.width, height: phantom.height } };
    const [analysis] = await model.analyse([image]);
    return { phantom, png, input, image, analysis: analysis! };
  };
  let prepared = await prepare(1);
  for (let seed = 2; !prepared.analysis.scope.inScope && seed <= 20; seed++) prepared = await prepare(seed);
  const { phantom, png, input, image, analysis } = prepared;
  const size = { width: image.width, height: image.height };
  if (!analysis.scope.inScope) throw new Error(`the package calls phantoms 1–20 out of scope (${JSON.stringify(analysis.scope)}): no findings or heatmaps to time`);
  await objects.put(BUCKET, 'input.png', png, 'image/png');
  await objects.put(BUCKET, 'input.u16', input, 'application/octet-stream');
  const fullImage = await decodePresentationPng(png, phantom);
  const heatmaps = analysis.findings.map((f) => f.heatmap);
  const heatmapPng = encodeHeatmapPng(heatmaps[0]!);
  const rows: { stage: string; 'ms per image': number; 'CPU ms per image': number }[] = [];
  const time = async (stage: string, fn: () => Promise<unknown>, n = 30) => {
    for (let i = 0; i < 3; i++) await fn();
    const cpu = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < n; i++) await fn();
    const used = process.cpuUsage(cpu);
    rows.push({ stage, 'ms per image': Math.round(((performance.now() - start) / n) * 100) / 100, 'CPU ms per image': Math.round(((used.user + used.system) / 1000 / n) * 100) / 100 });
  };
  console.log(`presentation PNG ${phantom.width}×${phantom.height}, ${(png.length / 1e6).toFixed(2)} MB; analysis input ${size.width}×${size.height}, ${(input.length / 1e6).toFixed(2)} MB; ` +
    `${heatmaps.length} heatmaps of ${heatmaps[0]!.width}×${heatmaps[0]!.height} (${heatmapPng.length} B as PNG)`);
  await time('load (old jobs): S3 stat + GET of the presentation PNG', () => objects.get(BUCKET, 'input.png', 256 * 1024 * 1024));
  await time('load (old jobs): 16-bit PNG decode (sharp)', () => decodePresentationPng(png, phantom));
  await time('model (old jobs): ModelPackage.analyse of the full-size image, batch 1', () => model.analyse([fullImage]));
  await time('load: S3 GET of the analysis input (one request)', () => objects.get(BUCKET, 'input.u16', 64 * 1024 * 1024));
  await time('load: analysis input read (no decode)', async () => readAnalysisInput(input, phantom));
  await time('model: ModelPackage.analyse of the analysis input, batch 1', () => model.analyse([image]));
  const prep = manifestPreprocessing(model.manifest);
  const tensor = new Float32Array(prep.channels * prep.size * prep.size);
  await time('model: preprocessing alone (manifestPreprocessing)', () => prep.into(image, tensor));
  const feeds = { [model.manifest.input.name]: new ort.Tensor('float32', tensor, [1, prep.channels, prep.size, prep.size]) };
  await time('model: bare session.run of the vision graph, batch 1 (no decoder)', () => bare.run(feeds));
  await time(`store: ${heatmaps.length} heatmap PNG encodes (zlib)`, async () => heatmaps.map((h) => encodeHeatmapPng(h)));
  await time(`store: ${heatmaps.length} heatmap PUTs, concurrently`, () => Promise.all(heatmaps.map((_, i) => objects.put(BUCKET, `heatmap-${i}.png`, heatmapPng, 'image/png'))));
  await time('store: result JSON PUT', () => objects.putJson(BUCKET, 'result.json', { text: 'x'.repeat(4000) }));
  console.table(rows);
} finally {
  await model.close();
  await bare.release();
  await s3.stop();
  rmSync(dir, { recursive: true, force: true });
}
