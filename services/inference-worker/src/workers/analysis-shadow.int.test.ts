import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QUEUE_NAMES, analysisResultSchema, objectKeys, reportEventSchema, type AnalysisRequest, type ReportEvent } from '@cxr/contracts';
import { freePort, startRedisServer, startS3Server, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { loadModelPackage, type ModelPackage } from '@cxr/inference';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { ObjectStore, createMetricsRegistry, createRequestConnection, createWorkerConnection, type Redis } from '@cxr/platform';
import { ModelSlot } from '../models/model-slot.ts';
import { startAnalysisWorker } from './analysis.ts';

/** Shadow mode against a real redis-server and s3rver: the candidate's result is kept apart and announced for comparison only. */
const bucket = `derived-shadow-${process.pid}`;
const prefix = `worker-shadow-${process.pid}`;
const SHADOW_VERSION = '0.0.1-shadow';
let dir: string;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let objects: ObjectStore;
let active: ModelPackage;
let shadow: ModelPackage;
let worker: ReturnType<typeof startAnalysisWorker>;
let analysisQueue: Queue<AnalysisRequest>;
let eventsQueue: Queue<ReportEvent>;
let connections: Redis[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'worker-shadow-'));
  // The candidate: the reference package's files under another version.
  const candidate = join(dir, 'candidate');
  const manifest = JSON.parse(readFileSync(join(referenceModelDir, 'manifest.json'), 'utf8')) as { version: string; files: Record<string, unknown> };
  manifest.version = SHADOW_VERSION;
  mkdirSync(candidate);
  for (const name of Object.keys(manifest.files)) symlinkSync(join(referenceModelDir, name), join(candidate, name));
  writeFileSync(join(candidate, 'manifest.json'), JSON.stringify(manifest));

  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: [bucket], reset: true });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  [active, shadow] = await Promise.all([
    loadModelPackage(referenceModelDir, { executionProviders: ['cpu'], intraOpNumThreads: 1 }),
    loadModelPackage(candidate, { executionProviders: ['cpu'], intraOpNumThreads: 1 }),
  ]);
  connections = [createWorkerConnection(redis.url), createRequestConnection(redis.url), createWorkerConnection(redis.url), createWorkerConnection(redis.url)];
  worker = startAnalysisWorker({
    workerConnection: connections[0]!, queueConnection: connections[1]!, queuePrefix: prefix,
    objects, derivedBucket: bucket, models: new ModelSlot(active), shadow: { models: new ModelSlot(shadow) },
    concurrency: 1, batch: { maxImages: 4, maxWaitMs: 5 }, lockDurationMs: 10_000, stalledIntervalMs: 5_000,
    logger: pino({ level: 'silent' }), metrics: createMetricsRegistry('worker-shadow-test'),
  });
  analysisQueue = new Queue(QUEUE_NAMES.analysis, { connection: connections[2]!, prefix });
  eventsQueue = new Queue(QUEUE_NAMES.reportEvents, { connection: connections[3]!, prefix });
}, 60_000);

afterAll(async () => {
  await worker?.close(5_000);
  await analysisQueue?.close();
  await eventsQueue?.close();
  await Promise.allSettled([active?.close(), shadow?.close()]);
  for (const connection of connections) connection.disconnect();
  await redis?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('analysis worker in shadow mode', () => {
  test('runs the shadow version after the active one, stores its result apart and announces it for comparison only', async () => {
    const studyKey = 'c'.repeat(32);
    const phantom = generatePhantom({ seed: 21, size: 256, aspect: 1.2, findings: [{ code: 'pleural_effusion', side: 'right', tier: 'obvious' }] });
    const png = await sharp(toUint16(phantom), { raw: { width: phantom.width, height: phantom.height, channels: 1 } }).toColourspace('grey16').png().toBuffer();
    await objects.put(bucket, 'inputs/c/p.png', png, 'image/png');
    await analysisQueue.add('analyse', {
      schemaVersion: 1, analysisId: `${studyKey}.v1`, studyKey, version: 1, priority: 'routine',
      images: [{ instanceKey: 'a'.repeat(32), imageKey: 'inputs/c/p.png', width: phantom.width, height: phantom.height }], requestedAt: new Date().toISOString(),
    }, { jobId: `${studyKey}.v1` });

    const events = await waitFor('both events', async () => {
      const all = (await eventsQueue.getJobs(['waiting', 'prioritized', 'delayed', 'completed'])).map((j) => reportEventSchema.parse(j.data));
      return all.length >= 2 ? all : undefined;
    }, 30_000);
    const completed = events.find((e) => e.type === 'analysis-completed');
    const shadowEvent = events.find((e) => e.type === 'shadow-analysis-completed');
    if (completed?.type !== 'analysis-completed' || shadowEvent?.type !== 'shadow-analysis-completed') throw new Error(`unexpected events ${JSON.stringify(events.map((e) => e.type))}`);

    const shadowName = `${shadow.manifest.id}@${SHADOW_VERSION}`;
    expect(shadowEvent).toMatchObject({ studyKey, version: 1, model: shadowName, activeResultKey: completed.resultKey, resultKey: objectKeys.shadowResult(studyKey, 1, shadowName) });
    // The active result is where drafts are made from and names the active version; the shadow's is elsewhere.
    expect(completed.resultKey).toBe(objectKeys.analysisResult(studyKey, 1));
    expect(analysisResultSchema.parse(await objects.getJson(bucket, completed.resultKey)).model.version).toBe(active.manifest.version);
    const shadowResult = analysisResultSchema.parse(await objects.getJson(bucket, shadowEvent.resultKey));
    expect(shadowResult.model.version).toBe(SHADOW_VERSION);
    expect(shadowResult.images[0]!.findings.find((f) => f.code === 'pleural_effusion')!.positive).toBe(true);
  });
});
