/**
 * Where a worker's per-image time goes: each stage of one analysis timed on its own, serially,
 * in this process (s3rver in-process, one 1024×1229 16-bit input, the reference model on CPU).
 * A companion to worker-bench.ts, for when the overhead ratio is far from the goal.
 *
 *   npx tsx services/inference-worker/bench/stage-costs.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { freePort, startS3Server } from '@cxr/devstack';
import { REFERENCE_MODEL_DIR, loadModelPackage } from '@cxr/inference';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { ObjectStore } from '@cxr/platform';
import { decodePresentationPng, encodeHeatmapPng } from '../src/analysis/images.ts';

const BUCKET = 'stage-costs';
const dir = mkdtempSync(join(tmpdir(), 'cxr-stage-costs-'));
const s3 = await startS3Server({ port: await freePort(), dir, buckets: [BUCKET], reset: true });
const model = await loadModelPackage(REFERENCE_MODEL_DIR, { executionProviders: ['cpu'] });
try {
  const objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  const phantom = generatePhantom({ seed: 1, size: 1024, aspect: 1.2 });
  // As ingest stores presentation images: 16-bit grey PNG, zlib level 6.
  const png = await sharp(toUint16(phantom), { raw: { width: phantom.width, height: phantom.height, channels: 1 } }).toColourspace('grey16').png({ compressionLevel: 6 }).toBuffer();
  await objects.put(BUCKET, 'input.png', png, 'image/png');
  const image = await decodePresentationPng(png, phantom);
  const [analysis] = await model.analyse([image]);
  const heatmaps = analysis!.findings.map((f) => f.heatmap);
  const heatmapPng = await encodeHeatmapPng(heatmaps[0]!);
  const rows: { stage: string; 'ms per image': number }[] = [];
  const time = async (stage: string, fn: () => Promise<unknown>, n = 30) => {
    for (let i = 0; i < 3; i++) await fn();
    const start = performance.now();
    for (let i = 0; i < n; i++) await fn();
    rows.push({ stage, 'ms per image': Math.round(((performance.now() - start) / n) * 100) / 100 });
  };
  console.log(`input PNG ${phantom.width}×${phantom.height}, ${(png.length / 1e6).toFixed(2)} MB; ${heatmaps.length} heatmaps of ${heatmaps[0]!.width}×${heatmaps[0]!.height} (${heatmapPng.length} B as PNG)`);
  await time('load: S3 GET of the input PNG', () => objects.get(BUCKET, 'input.png', 256 * 1024 * 1024));
  await time('load: 16-bit PNG decode (sharp)', () => decodePresentationPng(png, phantom));
  await time('model: ModelPackage.analyse, batch 1', () => model.analyse([image]));
  await time(`store: ${heatmaps.length} heatmap PNG encodes`, () => Promise.all(heatmaps.map((h) => encodeHeatmapPng(h))));
  await time(`store: ${heatmaps.length} heatmap PUTs, one after another`, async () => {
    for (const [i] of heatmaps.entries()) await objects.put(BUCKET, `heatmap-${i}.png`, heatmapPng, 'image/png');
  });
  await time('store: result JSON PUT', () => objects.putJson(BUCKET, 'result.json', { text: 'x'.repeat(4000) }));
  console.table(rows);
  console.log(`sum: ${rows.reduce((s, r) => s + r['ms per image'], 0).toFixed(1)} ms per image`);
} finally {
  await model.close();
  await s3.stop();
  rmSync(dir, { recursive: true, force: true });
}
