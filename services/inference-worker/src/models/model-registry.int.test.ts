import { createHash } from 'node:crypto';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  ANALYSIS_INPUT_CONTENT_TYPE, ANALYSIS_INPUT_RESIZE_KERNEL, QUEUE_NAMES, analysisInputSize, analysisResultSchema, encodeAnalysisInput, type AnalysisRequest,
} from '@cxr/contracts';
import { freePort, startRedisServer, startS3Server, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { ModelPackageError, type ThreadedModelPackage } from '@cxr/inference';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { ObjectStore, createMetricsRegistry, createRequestConnection, createWorkerConnection, type Redis } from '@cxr/platform';
import { startAnalysisWorker } from '../workers/analysis.ts';
import { modelKey, watchModelKey } from './model-key-watcher.ts';
import { formatModelRef, parseModelSource, type ModelRef } from './model-ref.ts';
import { publishModelPackage } from './model-publisher.ts';
import { ModelRegistry } from './model-registry.ts';
import { resolveModelPackage } from './model-store.ts';

/** The registry against a real s3rver and redis-server, with copies of the reference package as versions. */
const modelsBucket = `models-${process.pid}`;
const derivedBucket = `derived-${process.pid}`;
const source = parseModelSource(`s3://${modelsBucket}/registry`);
if (source.kind !== 's3') throw new Error('unreachable');
let dir: string;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let objects: ObjectStore;
let connection: Redis;
const registries: ModelRegistry[] = [];

/**
 * A copy of the reference package as `version`, each finding's display name tagged with it: the
 * display names in a result come out of the model package that ran the images, so they show which
 * one really did.
 */
async function packageVersion(version: string): Promise<{ dir: string; ref: ModelRef }> {
  const out = join(dir, `pkg-${version}`);
  await cp(referenceModelDir, out, { recursive: true, filter: (path) => !path.includes('training') && !path.includes('/src') });
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  manifest.version = version;
  for (const label of manifest.labels) label.display = `${label.display} [${version}]`;
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir: out, ref: { id: manifest.id, version } };
}

function newRegistry(cacheDir: string, metrics = createMetricsRegistry('registry-test')): ModelRegistry {
  const registry = new ModelRegistry({
    store: { source, cacheDir, objects }, loadOptions: { executionProviders: ['cpu'], intraOpNumThreads: 1 }, thread: true, warmUpImages: 4,
    logger: pino({ level: 'silent' }), metrics,
  });
  registries.push(registry);
  return registry;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-registry-int-'));
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: [derivedBucket], reset: true });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  connection = createRequestConnection(redis.url);
}, 60_000);

afterAll(async () => {
  for (const registry of registries) await registry.close();
  connection?.disconnect();
  await redis?.stop();
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('model registry', () => {
  test('publishes a package and loads it from the bucket by id@version, verified into the cache', async () => {
    const v1 = await packageVersion('9.0.0');
    expect((await publishModelPackage(v1.dir, { objects, target: source })).outcome).toBe('published');
    expect((await publishModelPackage(v1.dir, { objects, target: source })).outcome).toBe('already-published');

    const cacheDir = join(dir, 'cache-load');
    const metrics = createMetricsRegistry('registry-test');
    const models = await newRegistry(cacheDir, metrics).start({ kind: 'ref', ref: v1.ref });
    const manifestBytes = await readFile(join(v1.dir, 'manifest.json'));
    expect(models.model.manifest.version).toBe('9.0.0');
    expect(models.model.sha256).toBe(createHash('sha256').update(manifestBytes).digest('hex'));
    expect((await readdir(join(cacheDir, v1.ref.id, '9.0.0'))).sort()).toEqual(['decoder.onnx', 'manifest.json', 'ood.json', 'vision.onnx']);
    expect(await metrics.metrics()).toMatch(new RegExp(`^cxr_worker_model_info\\{id="${v1.ref.id}",version="9\\.0\\.0",sha256="${models.model.sha256}",provider="cpu"[^}]*\\} 1$`, 'm'));
  }, 60_000);

  test('refuses to publish different content under a version already published', async () => {
    const changed = await packageVersion('9.0.0');
    const manifest = JSON.parse(await readFile(join(changed.dir, 'manifest.json'), 'utf8'));
    manifest.intendedUse = `${manifest.intendedUse} (changed)`;
    await writeFile(join(changed.dir, 'manifest.json'), JSON.stringify(manifest));
    await expect(publishModelPackage(changed.dir, { objects, target: source })).rejects.toThrow(/already published .* bump the version/);
  }, 60_000);

  test('refuses a tampered file in the bucket, naming it, and keeps the current model in service', async () => {
    const v1 = await packageVersion('9.0.0');
    const v2 = await packageVersion('9.2.0');
    await publishModelPackage(v2.dir, { objects, target: source });
    const key = `registry/${v2.ref.id}/9.2.0/vision.onnx`;
    const bytes = await objects.get(modelsBucket, key);
    bytes[bytes.length - 1] ^= 0xff;
    await objects.put(modelsBucket, key, bytes, 'application/octet-stream');

    const cacheDir = join(dir, 'cache-tamper');
    await expect(resolveModelPackage(v2.ref, { source, cacheDir, objects })).rejects.toThrow(
      expect.objectContaining({ name: 'ModelPackageError', message: expect.stringMatching(/^vision\.onnx: sha256 mismatch \(manifest [0-9a-f]{64}, file [0-9a-f]{64}\)$/) }),
    );
    expect(await readdir(join(cacheDir, v2.ref.id)).catch(() => [])).not.toContain('9.2.0');

    const metrics = createMetricsRegistry('registry-test');
    const registry = newRegistry(cacheDir, metrics);
    const models = await registry.start({ kind: 'ref', ref: v1.ref });
    expect(await registry.switchTo(v2.ref)).toBe('refused');
    expect(models.model.manifest.version).toBe('9.0.0');
    expect(await metrics.metrics()).toMatch(/^cxr_worker_model_switches_total\{outcome="refused"[^}]*\} 1$/m);
    expect(await metrics.metrics()).toContain('version="9.0.0"');
    // The refusal is remembered until SIGHUP (forgetRefusals), then tried again.
    expect(await registry.switchTo(v2.ref)).toBe('refused');
    await expect(newRegistry(cacheDir).start({ kind: 'ref', ref: v2.ref })).rejects.toBeInstanceOf(ModelPackageError);
  }, 60_000);

  test('switches versions while jobs are flowing: no job is lost and each result names the model that ran it', async () => {
    const v1 = await packageVersion('9.0.0');
    const v3 = await packageVersion('9.3.0');
    await publishModelPackage(v3.dir, { objects, target: source });
    const prefix = `registry-switch-${process.pid}`;
    const registry = newRegistry(join(dir, 'cache-switch'));
    const models = await registry.start({ kind: 'ref', ref: v1.ref });
    const first = models.model as ThreadedModelPackage;
    const connections = [createWorkerConnection(redis.url), createRequestConnection(redis.url), createWorkerConnection(redis.url), createWorkerConnection(redis.url)] as const;
    const worker = startAnalysisWorker({
      workerConnection: connections[0], queueConnection: connections[1], queuePrefix: prefix,
      objects, derivedBucket, models, concurrency: 4, batch: { maxImages: 4, maxWaitMs: 5 }, lockDurationMs: 10_000, stalledIntervalMs: 5_000,
      logger: pino({ level: 'silent' }), metrics: createMetricsRegistry('registry-test'),
    });
    const watcher = watchModelKey({ redis: connection, key: modelKey(prefix), intervalMs: 50, onRef: (ref) => registry.switchTo(ref), logger: pino({ level: 'silent' }) });
    const queue = new Queue<AnalysisRequest>(QUEUE_NAMES.analysis, { connection: connections[2], prefix });
    const queueEvents = new QueueEvents(QUEUE_NAMES.analysis, { connection: connections[3], prefix });
    try {
      await queueEvents.waitUntilReady();
      const completed = new Set<string>();
      const failed: string[] = [];
      queueEvents.on('completed', ({ jobId }) => completed.add(jobId));
      queueEvents.on('failed', ({ jobId, failedReason }) => failed.push(`${jobId}: ${failedReason}`));

      const phantom = generatePhantom({ seed: 21, size: 300, aspect: 1.2 });
      const size = analysisInputSize(phantom.width, phantom.height);
      const small = await sharp(toUint16(phantom), { raw: { width: phantom.width, height: phantom.height, channels: 1 } })
        .resize(size.width, size.height, { kernel: ANALYSIS_INPUT_RESIZE_KERNEL, fit: 'fill' }).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
      await objects.put(derivedBucket, 'inputs/switch/analysis.u16', encodeAnalysisInput({ ...size, data: new Uint16Array(small.buffer, small.byteOffset, small.length / 2) }), ANALYSIS_INPUT_CONTENT_TYPE);
      const request = (n: number): AnalysisRequest => {
        const studyKey = `switch${String(n).padStart(26, '0')}`;
        return {
          schemaVersion: 1, analysisId: `${studyKey}.v1`, studyKey, version: 1, priority: 'routine', requestedAt: new Date().toISOString(),
          images: [{ instanceKey: 'a'.repeat(32), imageKey: 'inputs/switch/absent.png', analysisInputKey: 'inputs/switch/analysis.u16', width: phantom.width, height: phantom.height }],
        };
      };
      // Jobs keep arriving, a few every 40 ms, before the switch is asked for, while the new version
      // loads and warms up beside the old one, and for a while after it took over.
      let jobs = 0;
      let afterSwitch = 0;
      while (afterSwitch < 16) {
        await queue.addBulk([0, 1, 2, 3].map((i) => ({ name: 'analyse', data: request(jobs + i), opts: { jobId: request(jobs + i).analysisId } })));
        jobs += 4;
        if (jobs === 16) await connection.set(modelKey(prefix), formatModelRef(v3.ref));
        if (models.model.manifest.version === '9.3.0') afterSwitch += 4;
        if (jobs > 2000) throw new Error('the new version never took over');
        await new Promise((r) => setTimeout(r, 40));
      }
      await waitFor('every job to finish', async () => (completed.size + failed.length >= jobs ? true : undefined), 120_000, 50);
      expect(failed).toEqual([]);
      expect(completed.size).toBe(jobs);

      const results = await Promise.all(Array.from({ length: jobs }, async (_, n) =>
        analysisResultSchema.parse(await objects.getJson(derivedBucket, `results/${request(n).studyKey}/v1/result.json`))));
      for (const result of results) {
        for (const finding of result.images[0]!.findings) expect(finding.display.endsWith(`[${result.model.version}]`)).toBe(true);
      }
      const versions = results.map((r) => r.model.version);
      expect(new Set(versions)).toEqual(new Set(['9.0.0', '9.3.0']));
      expect(versions.slice(0, 4).every((v) => v === '9.0.0')).toBe(true); // queued before the switch was asked for
      expect(versions.at(-1)).toBe('9.3.0');
      // Once switched, results never go back to the old version.
      expect(versions.indexOf('9.3.0')).toBeGreaterThan(-1);
      expect(versions.slice(versions.indexOf('9.3.0')).every((v) => v === '9.3.0')).toBe(true);
      expect(models.model.manifest.version).toBe('9.3.0');
      await first.exited; // the old model's thread was released once its calls were done
    } finally {
      watcher.stop();
      await worker.close(5_000);
      await queueEvents.close();
      await queue.close();
      for (const c of connections) c.disconnect();
    }
  }, 180_000);
});
