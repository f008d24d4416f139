import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QUEUE_NAMES, analysisResultSchema, findingHeatmapPng, type AnalysisRequest } from '@cxr/contracts';
import { freePort, startRedisServer, startS3Server, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { writeTinyPackage } from '@cxr/inference/testing';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { ObjectStore, createRequestConnection } from '@cxr/platform';
import { loadConfig } from './config.ts';
import { createWorkerService, type WorkerService } from './service.ts';

/**
 * The whole worker service (config → registry → analysis worker), started as main.ts starts it, with
 * WORKER_MODEL_DIR naming a format v2 package: the tiny CAM classifier from @cxr/inference/testing
 * (a real ONNX graph laid out as the importers export DenseNet-121: logits + feature map, classifier
 * weights shipped for CAMs, one label without a code of ours, templated text). Real redis-server and s3rver.
 */
const buckets = { originals: 'originals', derived: 'derived', reports: 'reports' };
let dir: string;
let packageDir: string;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let objects: ObjectStore;
const services: WorkerService[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'worker-v2-int-'));
  packageDir = join(dir, 'package');
  mkdirSync(packageDir);
  await writeTinyPackage(packageDir);
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(buckets), reset: true });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
}, 60_000);

afterAll(async () => {
  await Promise.all(services.map((s) => s.stop()));
  await redis?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function workerConfig(prefix: string, extra: Record<string, string | undefined>) {
  return loadConfig({
    REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY: s3.accessKey, S3_SECRET_KEY: s3.secretKey, S3_REGION: 'us-east-1',
    BUCKET_ORIGINALS: buckets.originals, BUCKET_DERIVED: buckets.derived, BUCKET_REPORTS: buckets.reports,
    QUEUE_PREFIX: prefix, WORKER_HTTP_HOST: '127.0.0.1', WORKER_HTTP_PORT: String(await freePort()), WORKER_MODEL_DIR: packageDir, ...extra,
  });
}
const silent = pino({ level: 'silent' });
const onFatal = (error: unknown) => { throw error; };

/** 48×32 grey16, black, with a bright 16×16 block over x 24..40, y 0..16: the tiny model's effusion. */
async function blockPng(): Promise<Buffer> {
  const [w, h] = [48, 32];
  const data = new Uint16Array(w * h);
  for (let y = 0; y < 16; y++) for (let x = 24; x < 40; x++) data[y * w + x] = 65535;
  return sharp(data, { raw: { width: w, height: h, channels: 1 } }).toColourspace('grey16').png().toBuffer();
}

describe('the worker serving a format v2 package (WORKER_MODEL_DIR)', () => {
  test('refuses a package without an out-of-distribution detector unless WORKER_ALLOW_MODELS_WITHOUT_OOD is set, and never becomes ready', async () => {
    const service = createWorkerService(await workerConfig(`v2-refuse-${process.pid}`, {}), silent, { onFatal });
    services.push(service);
    await expect(service.start()).rejects.toThrow(/out-of-distribution|ood/i);
  });

  test('analyses a job into a result with CAM heatmaps, mapped and unmapped labels and templated text that the report contract accepts', async () => {
    const prefix = `v2-serve-${process.pid}`;
    // CUDA first, as the GPU deployment asks: where it cannot be loaded (no GPU here) the package runs on the CPU.
    const service = createWorkerService(await workerConfig(prefix, { WORKER_ALLOW_MODELS_WITHOUT_OOD: 'true', WORKER_EXECUTION_PROVIDERS: 'cuda,cpu' }), silent, { onFatal });
    services.push(service);
    const started = await service.start();
    expect(started.model).toMatch(/^tiny-cam@1\.0\.0/);

    const studyKey = 'e'.repeat(32);
    const imageKey = `inputs/${studyKey}/p.png`;
    await objects.put(buckets.derived, imageKey, await blockPng(), 'image/png');
    const queue = new Queue<AnalysisRequest>(QUEUE_NAMES.analysis, { connection: createRequestConnection(redis.url), prefix });
    try {
      const job = await queue.add('analyse', {
        schemaVersion: 1, analysisId: `${studyKey}.v1`, studyKey, version: 1, priority: 'routine',
        images: [{ instanceKey: 'f'.repeat(32), imageKey, width: 48, height: 32 }], requestedAt: new Date().toISOString(),
      }, { jobId: `${studyKey}.v1` });
      const state = await waitFor(`job ${job.id} to finish`, async () => {
        const s = await job.getState();
        return s === 'completed' || s === 'failed' ? s : undefined;
      }, 30_000);
      const done = (await queue.getJob(job.id!))!;
      expect(state, done.failedReason).toBe('completed');
      const { resultKey } = done.returnvalue as { resultKey: string };
      // The report service reads results through this schema: it must accept a v2 model's result unchanged.
      const result = analysisResultSchema.parse(await objects.getJson(buckets.derived, resultKey));
      expect(result.model.id).toBe('tiny-cam');
      expect(['cuda', 'cpu']).toContain(result.model.executionProvider);
      const [image] = result.images;
      expect(image!.findings.map((f) => [f.code, f.display, f.positive])).toEqual([
        ['pleural_effusion', 'Pleural effusion', true],
        ['pneumothorax', 'Pneumothorax', false],
        ['lung_opacity', 'Lung Opacity', true],
      ]);
      // Class activation maps computed by the worker from the feature map and the shipped weights:
      // the effusion's lands on the bright block (right half, upper half of the image).
      const effusion = image!.findings[0]!;
      expect(effusion.peak.x).toBeGreaterThan(24 / 48);
      expect(effusion.peak.x).toBeLessThan(40 / 48);
      expect(effusion.peak.y).toBeLessThan(16 / 32);
      const heatmap = await sharp(findingHeatmapPng(effusion)!).metadata();
      expect(heatmap.format).toBe('png');
      expect([heatmap.width, heatmap.height]).toEqual([6, 4]);
      // No decoder: the structured-findings sentences written from the calls.
      expect(image!.text).toMatchObject({ findings: 'Left pleural effusion. Lung Opacity. No pneumothorax.', impression: 'Left pleural effusion. Lung Opacity.', complete: true });
    } finally {
      await queue.close();
    }
  });

  test('serves the shipped DenseNet-121 trained on phantoms by WORKER_MODEL=chexnet-phantom@0.1.1 from the repo\'s models/, with its own OOD detector, and reads an obvious pleural effusion on a fresh phantom', async () => {
    const prefix = `v2-shipped-${process.pid}`;
    // As an operator sets it: no WORKER_MODEL_DIR, WORKER_MODEL_SOURCE left at its default (the repo's models/).
    const service = createWorkerService(await workerConfig(prefix, { WORKER_MODEL_DIR: undefined, WORKER_MODEL: 'chexnet-phantom@0.1.1' }), silent, { onFatal });
    services.push(service);
    const started = await service.start();
    expect(started.model).toMatch(/^chexnet-phantom@0\.1\.1/);

    // A seed no training, validation or evaluation set uses; the finding forced, so the test does not depend on the generator's mix.
    const phantom = generatePhantom({ seed: 31_000_017, size: 512, aspect: 1.1, findings: [{ code: 'pleural_effusion', tier: 'obvious' }] });
    const png = await sharp(toUint16(phantom), { raw: { width: phantom.width, height: phantom.height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    const studyKey = 'a'.repeat(32);
    const imageKey = `inputs/${studyKey}/p.png`;
    await objects.put(buckets.derived, imageKey, png, 'image/png');
    const queue = new Queue<AnalysisRequest>(QUEUE_NAMES.analysis, { connection: createRequestConnection(redis.url), prefix });
    try {
      const job = await queue.add('analyse', {
        schemaVersion: 1, analysisId: `${studyKey}.v1`, studyKey, version: 1, priority: 'routine',
        images: [{ instanceKey: 'b'.repeat(32), imageKey, width: phantom.width, height: phantom.height }], requestedAt: new Date().toISOString(),
      }, { jobId: `${studyKey}.v1` });
      const state = await waitFor(`job ${job.id} to finish`, async () => {
        const s = await job.getState();
        return s === 'completed' || s === 'failed' ? s : undefined;
      }, 60_000);
      const done = (await queue.getJob(job.id!))!;
      expect(state, done.failedReason).toBe('completed');
      const result = analysisResultSchema.parse(await objects.getJson(buckets.derived, (done.returnvalue as { resultKey: string }).resultKey));
      expect(result.model).toMatchObject({ id: 'chexnet-phantom', version: '0.1.1' });
      const [image] = result.images;
      // The 5 ChestX-ray14 labels phantoms show, under our codes; the 9 it was not trained to read
      // (manifest `trained: false`) give no finding and no sentence. The effusion called present.
      expect(image!.findings.map((f) => f.code).sort()).toEqual(['cardiomegaly', 'mass', 'nodule', 'pleural_effusion', 'pneumothorax']);
      expect(image!.text.findings).not.toMatch(/pneumonia|atelectasis|hernia/i);
      expect(image!.findings.find((f) => f.code === 'pleural_effusion')!.positive).toBe(true);
      expect(image!.text.findings).toMatch(/pleural effusion\./);
    } finally {
      await queue.close();
    }
  }, 90_000);
});
