import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Job } from 'bullmq';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ANALYSIS_INPUT_CONTENT_TYPE, ANALYSIS_INPUT_RESIZE_KERNEL, QUEUE_NAMES, analysisInputSize, analysisResultSchema, encodeAnalysisInput, findingHeatmapPng, reportEventSchema,
  type AnalysisRequest, type ReportEvent,
} from '@cxr/contracts';
import { freePort, startRedisServer, startS3Server, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { loadModelPackageInThread, type ModelPackage } from '@cxr/inference';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { ObjectStore, createMetricsRegistry, createRequestConnection, createWorkerConnection } from '@cxr/platform';
import { startAnalysisWorker } from './analysis.ts';
import { ModelSlot } from '../models/model-slot.ts';

/** The worker against a real redis-server, s3rver and the reference model (in its thread, as main.ts runs it). */
const bucket = `derived-${process.pid}`;
const prefix = `worker-int-${process.pid}`;
let dir: string;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let objects: ObjectStore;
let model: ModelPackage;
let worker: ReturnType<typeof startAnalysisWorker>;
let analysisQueue: Queue<AnalysisRequest>;
let eventsQueue: Queue<ReportEvent>;
const metrics = createMetricsRegistry('worker-test');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'worker-int-'));
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: [bucket], reset: true });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  model = await loadModelPackageInThread(referenceModelDir, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
  worker = startAnalysisWorker({
    workerConnection: createWorkerConnection(redis.url), queueConnection: createRequestConnection(redis.url), queuePrefix: prefix,
    objects, derivedBucket: bucket, models: new ModelSlot(model), concurrency: 2, batch: { maxImages: 4, maxWaitMs: 5 }, lockDurationMs: 10_000, stalledIntervalMs: 5_000,
    logger: pino({ level: 'silent' }), metrics,
  });
  analysisQueue = new Queue(QUEUE_NAMES.analysis, { connection: createWorkerConnection(redis.url), prefix });
  eventsQueue = new Queue(QUEUE_NAMES.reportEvents, { connection: createWorkerConnection(redis.url), prefix });
}, 60_000);

afterAll(async () => {
  await worker?.close(5_000);
  await analysisQueue?.close();
  await eventsQueue?.close();
  await model?.close();
  await redis?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function putPresentation(key: string, seed: number, findings: Parameters<typeof generatePhantom>[0]['findings']) {
  const phantom = generatePhantom({ seed, size: 256, aspect: 1.2, ...(findings ? { findings } : {}) });
  const png = await sharp(toUint16(phantom), { raw: { width: phantom.width, height: phantom.height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
  await objects.put(bucket, key, png, 'image/png');
  return phantom;
}

/** As ingest stores it beside the presentation PNG: raw grey16, long side ≤ `longSide` (the reference model's 256 by default). */
async function putAnalysisInput(key: string, phantom: ReturnType<typeof generatePhantom>, longSide?: number) {
  const size = analysisInputSize(phantom.width, phantom.height, longSide);
  const small = await sharp(toUint16(phantom), { raw: { width: phantom.width, height: phantom.height, channels: 1 } })
    .resize(size.width, size.height, { kernel: ANALYSIS_INPUT_RESIZE_KERNEL, fit: 'fill' }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  await objects.put(bucket, key, encodeAnalysisInput({ ...size, data: new Uint16Array(small.buffer, small.byteOffset, small.length / 2) }), ANALYSIS_INPUT_CONTENT_TYPE);
}

function request(studyKey: string, imageKey: string, width: number, height: number, analysisInputKey?: string): AnalysisRequest {
  return {
    schemaVersion: 1, analysisId: `${studyKey}.v1`, studyKey, version: 1, priority: 'routine',
    images: [{ instanceKey: 'a'.repeat(32), imageKey, ...(analysisInputKey ? { analysisInputKey } : {}), width, height }], requestedAt: new Date().toISOString(),
  };
}

async function finished(job: Job): Promise<Job> {
  return waitFor(`job ${job.id} to finish`, async () => {
    const state = await job.getState();
    return state === 'completed' || state === 'failed' ? ((await analysisQueue.getJob(job.id!)) as Job) : undefined;
  }, 30_000);
}

async function eventsFor(studyKey: string): Promise<ReportEvent[]> {
  const jobs = await eventsQueue.getJobs(['waiting', 'prioritized', 'delayed', 'completed']);
  return jobs.map((j) => reportEventSchema.parse(j.data)).filter((e) => e.studyKey === studyKey);
}

describe('analysis worker', () => {
  test('analyses a study, stores one result with its heatmaps inline, and tells the report service', async () => {
    const studyKey = 'b'.repeat(32);
    const phantom = await putPresentation('inputs/b/p.png', 11, [{ code: 'pleural_effusion', side: 'left', tier: 'obvious' }]);
    const sent = request(studyKey, 'inputs/b/p.png', phantom.width, phantom.height);
    sent.images[0]!.pixelSpacingMm = phantom.pixelSpacingMm;
    sent.indication = '? effusion';
    const job = await analysisQueue.add('analyse', sent, { jobId: `${studyKey}.v1` });
    expect(await (await finished(job)).getState()).toBe('completed');
    const events = await eventsFor(studyKey);
    expect(events.map((e) => e.type)).toEqual(['analysis-completed']);
    const completed = events[0]!;
    if (completed.type !== 'analysis-completed') throw new Error('unreachable');
    const result = analysisResultSchema.parse(await objects.getJson(bucket, completed.resultKey));
    expect(result.model.id).toBe(model.manifest.id);
    expect(result.model.executionProvider).toBe('cpu');
    // The pixel size travels on, for measured sizes in the draft; the decoder reached <eos>.
    expect(result.images[0]!.pixelSpacingMm).toBe(phantom.pixelSpacingMm);
    expect(result.images[0]!.text.complete).toBe(true);
    // The clinical question goes on to the report unchanged.
    expect(result.indication).toBe('? effusion');
    const effusion = result.images[0]!.findings.find((f) => f.code === 'pleural_effusion')!;
    expect(effusion.positive).toBe(true);
    expect(effusion.heatmapKey).toBeUndefined();
    const heatmap = await sharp(findingHeatmapPng(effusion)!).metadata();
    expect(heatmap.format).toBe('png');
    expect(heatmap.channels).toBe(1);
    // The result JSON is the only object the analysis wrote.
    expect(await objects.list(bucket, `results/${studyKey}/`)).toEqual([completed.resultKey]);
    expect(Math.abs(heatmap.height! / heatmap.width! - phantom.height / phantom.width)).toBeLessThan(0.1);
  });

  test('running the same analysis twice leaves one result and one event', async () => {
    const studyKey = 'c'.repeat(32);
    const phantom = await putPresentation('inputs/c/p.png', 12, []);
    for (let i = 0; i < 2; i++) {
      // A redelivery after a crash is a second run of the same job id.
      const job = await analysisQueue.add('analyse', request(studyKey, 'inputs/c/p.png', phantom.width, phantom.height), { jobId: `${studyKey}.v1.run${i}` });
      await finished(job);
    }
    expect(await eventsFor(studyKey)).toHaveLength(1);
    expect(await objects.list(bucket, `results/${studyKey}/`)).toContain(`results/${studyKey}/v1/result.json`);
  });

  test('fails an unreadable input at once, without retrying, and reports the reason', async () => {
    const studyKey = 'd'.repeat(32);
    await objects.put(bucket, 'inputs/d/p.png', Buffer.from('not a png'), 'image/png');
    const job = await analysisQueue.add('analyse', request(studyKey, 'inputs/d/p.png', 100, 100), { jobId: `${studyKey}.v1`, attempts: 5, backoff: { type: 'fixed', delay: 100 } });
    const done = await finished(job);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    const events = await eventsFor(studyKey);
    expect(events.map((e) => e.type)).toEqual(['analysis-failed']);
    expect(events[0]!.type === 'analysis-failed' && events[0]!.reason).toMatch(/not a readable PNG/);
  });
  test('reads the small analysis input when the request names one, without touching the presentation image', async () => {
    const studyKey = 'e'.repeat(32);
    const phantom = generatePhantom({ seed: 13, size: 700, aspect: 1.2, findings: [{ code: 'pleural_effusion', side: 'left', tier: 'obvious' }] });
    await putAnalysisInput('inputs/e/analysis.u16', phantom);
    // No presentation PNG is stored at imageKey: the job can only succeed from the analysis input.
    const job = await analysisQueue.add('analyse', request(studyKey, 'inputs/e/missing.png', phantom.width, phantom.height, 'inputs/e/analysis.u16'), { jobId: `${studyKey}.v1` });
    expect(await (await finished(job)).getState()).toBe('completed');
    const completed = (await eventsFor(studyKey))[0]!;
    if (completed.type !== 'analysis-completed') throw new Error(`expected analysis-completed, got ${completed.type}`);
    const result = analysisResultSchema.parse(await objects.getJson(bucket, completed.resultKey));
    expect(result.images[0]).toMatchObject({ width: phantom.width, height: phantom.height, imageKey: 'inputs/e/missing.png' });
    expect(result.images[0]!.findings.find((f) => f.code === 'pleural_effusion')!.positive).toBe(true);
    const heatmap = await sharp(findingHeatmapPng(result.images[0]!.findings[0]!)!).metadata();
    expect(Math.abs(heatmap.height! / heatmap.width! - phantom.height / phantom.width)).toBeLessThan(0.1);
  });

  test('falls back to the presentation image when the named analysis input is gone', async () => {
    const studyKey = 'f'.repeat(32);
    const phantom = await putPresentation('inputs/f/p.png', 14, []);
    const job = await analysisQueue.add('analyse', request(studyKey, 'inputs/f/p.png', phantom.width, phantom.height, 'inputs/f/removed.u16'), { jobId: `${studyKey}.v1` });
    expect(await (await finished(job)).getState()).toBe('completed');
    expect((await eventsFor(studyKey)).map((e) => e.type)).toEqual(['analysis-completed']);
  });

  test('reads the presentation image instead of an analysis input with fewer pixels than the model takes', async () => {
    const studyKey = 'h'.repeat(32);
    const phantom = await putPresentation('inputs/h/p.png', 16, [{ code: 'pleural_effusion', side: 'right', tier: 'obvious' }]);
    await putAnalysisInput('inputs/h/analysis.u16', phantom, model.manifest.input.size / 2);
    const inputsRead = async (kind: string) =>
      (await metrics.getSingleMetric('cxr_worker_inputs_total')!.get()).values.find((v) => v.labels.kind === kind)?.value ?? 0;
    const before = { small: await inputsRead('analysis-input'), png: await inputsRead('presentation-png') };
    const job = await analysisQueue.add('analyse', request(studyKey, 'inputs/h/p.png', phantom.width, phantom.height, 'inputs/h/analysis.u16'), { jobId: `${studyKey}.v1` });
    expect(await (await finished(job)).getState()).toBe('completed');
    expect(await inputsRead('presentation-png')).toBe(before.png + 1);
    expect(await inputsRead('analysis-input')).toBe(before.small);
    const completed = (await eventsFor(studyKey))[0]!;
    if (completed.type !== 'analysis-completed') throw new Error(`expected analysis-completed, got ${completed.type}`);
    const result = analysisResultSchema.parse(await objects.getJson(bucket, completed.resultKey));
    expect(result.images[0]!.findings.find((f) => f.code === 'pleural_effusion')!.positive).toBe(true);
  });

  test('fails a malformed analysis input at once and reports why', async () => {
    const studyKey = 'g'.repeat(32);
    const phantom = await putPresentation('inputs/g/p.png', 15, []);
    await objects.put(bucket, 'inputs/g/analysis.u16', Buffer.from('CXRU16 but cut short'), ANALYSIS_INPUT_CONTENT_TYPE);
    const job = await analysisQueue.add('analyse', request(studyKey, 'inputs/g/p.png', phantom.width, phantom.height, 'inputs/g/analysis.u16'), { jobId: `${studyKey}.v1`, attempts: 5, backoff: { type: 'fixed', delay: 100 } });
    const done = await finished(job);
    expect(await done.getState()).toBe('failed');
    expect(done.attemptsMade).toBe(1);
    const events = await eventsFor(studyKey);
    expect(events[0]!.type === 'analysis-failed' && events[0]!.reason).toMatch(/analysis input is not readable/);
  });
});
