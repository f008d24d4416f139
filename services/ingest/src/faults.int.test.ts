import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { QUEUE_NAMES, analysisRequestSchema, objectKeys } from '@cxr/contracts';
import { runDcmtk } from '@cxr/dcmtk';
import { freePort, startRedisServer, startS3Server, stowRs, waitFor, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy, type ChestStudy } from '@cxr/phantom/dicom';
import { readFileMetaInformation } from '@cxr/dicom';
import {
  ObjectStore, createRequestConnection, createWorkerConnection, encodeMultipartRelated, parseMultipartRelated, parseMultipartRelatedType, type Redis,
} from '@cxr/platform';
import { loadConfig, type IngestConfig } from './config.ts';
import { startStallingProxy, type StallingProxy } from './faults.test-support.ts';
import { Pseudonymizer } from './privacy/pseudonym.ts';
import { createIngestService, type IngestService } from './service.ts';
import { InstanceStore } from './storage/instance-store.ts';
import { OrphanSweep } from './storage/orphan-sweep.ts';
import { worstCaseMs } from './storage/resilient-object-store.ts';
import { StudyRegistry } from './studies/study-registry.ts';

/**
 * Ingest in-process against a real redis-server and s3rver while they fail: S3 stalled (a proxy
 * that stops forwarding) and stopped, Redis with writes paused (CLIENT PAUSE: the record script
 * times out and then runs late). Each test then checks that every acknowledged instance is stored
 * and recorded, and that every acknowledged study ends in exactly one analysis job.
 */
let dir: string;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let s3Port: number;
let proxy: StallingProxy;
let control: Redis;
let service: IngestService;
let config: IngestConfig;
let http: string;
let dimse: { host: string; port: number };
let objects: ObjectStore;
let registry: StudyRegistry;
let seed = 100;
const prefix = `ingest-faults-${process.pid}`;
const buckets = { BUCKET_ORIGINALS: `orig-f-${process.pid}`, BUCKET_DERIVED: `derived-f-${process.pid}`, BUCKET_REPORTS: `reports-f-${process.pid}` };
/** Every instance a sender was told is stored: checked at the end. */
const acknowledged: ChestStudy[] = [];

async function startS3(): Promise<S3ServerHandle> {
  return startS3Server({ port: s3Port, dir: join(dir, 's3'), buckets: Object.values(buckets) });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingest-faults-'));
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  s3Port = await freePort();
  s3 = await startS3();
  proxy = await startStallingProxy({ host: '127.0.0.1', port: s3Port });
  control = createRequestConnection(redis.url);
  if (control.status !== 'ready') await once(control, 'ready');
  config = loadConfig({
    REDIS_URL: redis.url, S3_ENDPOINT: `http://127.0.0.1:${proxy.port}`, QUEUE_PREFIX: prefix, ...buckets,
    INGEST_DIMSE_PORT: String(await freePort()), INGEST_HTTP_PORT: String(await freePort()), INGEST_STUDY_STABLE_MS: '300',
    INGEST_S3_TIMEOUT_MS: '1000', INGEST_S3_ATTEMPTS: '2', INGEST_S3_BACKOFF_MS: '50',
    INGEST_RECONCILE_INTERVAL_MS: '500', INGEST_RECONCILE_GRACE_MS: '2000', INGEST_READY_TIMEOUT_MS: '300',
  });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  registry = new StudyRegistry(control, prefix, new Pseudonymizer(config.pseudonymSecret));
  service = createIngestService(config, pino({ level: 'silent' }));
  const address = await service.start();
  http = `http://127.0.0.1:${address.http.port}`;
  dimse = { host: '127.0.0.1', port: address.dimse.port };
}, 60_000);

afterAll(async () => {
  await service?.stop();
  control?.disconnect();
  await proxy?.close();
  await redis?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function newStudy(): ChestStudy {
  seed += 1;
  return makeChestStudy({ seed, size: 256 });
}

/** The C-STORE by storescu, killed after `timeoutMs`: whether it succeeded and what it printed (verbose: the response status). */
async function cStore(study: ChestStudy, timeoutMs = 60_000): Promise<{ ok: boolean; output: string }> {
  const file = join(dir, `${study.sopInstanceUid}.dcm`);
  writeFileSync(file, study.file);
  const result = await runDcmtk('storescu', ['-v', '-aet', 'PACS', '-aec', 'INGEST', dimse.host, String(dimse.port), file], { allowFailure: true, timeoutMs });
  return { ok: result.code === 0, output: `${result.stdout}\n${result.stderr}` };
}

/** GET /readyz, given at most `ms` to answer (the fetch is aborted after that). */
async function readiness(ms = 1000): Promise<number> {
  const res = await fetch(`${http}/readyz`, { signal: AbortSignal.timeout(ms) });
  await res.arrayBuffer();
  return res.status;
}

async function analysisJobsOf(study: ChestStudy) {
  const connection = createWorkerConnection(redis.url);
  const queue = new Queue(QUEUE_NAMES.analysis, { connection, prefix });
  try {
    const jobs = await queue.getJobs(['waiting', 'prioritized', 'delayed', 'active', 'completed', 'failed']);
    const studyKey = registry.studyKey(study.studyInstanceUid);
    return jobs.map((j) => analysisRequestSchema.parse(j.data)).filter((r) => r.studyKey === studyKey);
  } finally {
    await queue.close();
    connection.disconnect();
  }
}

/** Studies whose completion was seen: each is checked for exactly one analysis at the end. */
const completed: ChestStudy[] = [];

async function waitForAnalysis(study: ChestStudy): Promise<void> {
  await waitFor('the analysis job', async () => ((await analysisJobsOf(study)).length > 0 ? true : undefined), 20_000, 200);
  completed.push(study);
}

describe('ingest while object storage fails', () => {
  test('refuses STOW-RS with 503 and C-STORE with 0xA700 within the stated time while S3 is stalled, and says not ready within a second', async () => {
    const stow = newStudy();
    const dimseStudy = newStudy();
    const bound = worstCaseMs(config.storage) + 3000; // the storage bound plus parsing, Redis and the sender's own work
    proxy.stall();
    try {
      const [ready, stowAnswer, storeAnswer] = await Promise.all([readiness(1000), fetchStow(stow.file, bound), cStore(dimseStudy, bound)]);
      expect(stowAnswer.status).toBe(503);
      expect(stowAnswer.retryAfter).toBeTruthy();
      expect(storeAnswer.ok).toBe(false);
      expect(storeAnswer.output).toMatch(/OutOfResources|a700/i);
      expect(ready).toBe(503);
    } finally {
      proxy.resume();
    }
    await waitFor('ingest to be ready again', async () => ((await readiness()) === 200 ? true : undefined), 10_000, 200);
    expect((await stowRs(http, [stow.file])).status).toBe(200);
    expect((await cStore(dimseStudy)).ok).toBe(true);
    acknowledged.push(stow, dimseStudy);
    await waitForAnalysis(stow);
    await waitForAnalysis(dimseStudy);
  });

  test('refuses fast while S3 is stopped, and stores again once it is back', async () => {
    const study = newStudy();
    await s3.stop();
    try {
      const [ready, answer] = await Promise.all([readiness(1000), fetchStow(study.file, worstCaseMs(config.storage) + 3000)]);
      expect(answer.status).toBe(503);
      expect(ready).toBe(503);
      expect((await cStore(study)).ok).toBe(false);
    } finally {
      s3 = await startS3();
    }
    await waitFor('ingest to be ready again', async () => ((await readiness()) === 200 ? true : undefined), 10_000, 200);
    expect((await cStore(study)).ok).toBe(true);
    acknowledged.push(study);
    await waitForAnalysis(study);
  });
});

describe('ingest while Redis stalls', () => {
  test('tells both senders to retry while Redis takes no writes, and completes a study recorded late once even if nobody resends', async () => {
    const stow = newStudy();
    const dimseStudy = newStudy();
    // Writes wait (the record script, queue adds), reads go on: the STOW-RS instance is checked and
    // PUT, its record times out (5 s) and Redis runs it when the pause ends (issue 16, finding 5), so
    // the study is recorded with nothing scheduled to complete it. The C-STORE starts a second later,
    // behind that record on the same connection, and times out too.
    // 9 s: longer than the C-STORE's wait behind that record plus its own 5 s timeout, so it cannot
    // simply be served once the pause ends.
    await control.call('CLIENT', 'PAUSE', '9000', 'WRITE');
    // The bound: the 5 s Redis command timeout, plus the sender's own work.
    const [ready, stowAnswer, storeAnswer] = await Promise.all([
      readiness(1000),
      fetchStow(stow.file, 9000),
      new Promise((resolve) => setTimeout(resolve, 1000)).then(() => cStore(dimseStudy, 9000)),
    ]);
    expect(stowAnswer.status).toBe(503);
    expect(storeAnswer.ok).toBe(false);
    expect(storeAnswer.output).toMatch(/OutOfResources|a700/i);
    expect(ready).toBe(503);
    await waitFor('writes to resume', async () => ((await readiness()) === 200 ? true : undefined), 10_000, 200);
    const late = await waitFor('the late record', () => registry.instance(stow.studyInstanceUid, stow.sopInstanceUid).then((r) => r ?? undefined), 5_000);
    expect(late.protocol).toBe('stow-rs');
    // Nobody resends it: the reconciler completes the study.
    await waitForAnalysis(stow);
    // The C-STORE's sender resends, as told; so does the STOW-RS sender, later: both are stored, one analysis each.
    expect((await cStore(dimseStudy)).ok).toBe(true);
    expect((await stowRs(http, [stow.file])).status).toBe(200);
    acknowledged.push(stow, dimseStudy);
    await waitForAnalysis(dimseStudy);
  });
});

describe('orphan originals', () => {
  test('records an original that was stored but never recorded, removes an object that is no instance, and the study completes once', async () => {
    const study = newStudy();
    const sha256 = createHash('sha256').update(dataSetOf(study.file)).digest('hex');
    const key = objectKeys.original(study.studyInstanceUid, study.seriesInstanceUid, study.sopInstanceUid, sha256);
    const junkKey = `studies/${study.studyInstanceUid}/series/${study.seriesInstanceUid}/instances/1.2.3/${'0'.repeat(64)}.dcm`;
    await objects.put(buckets.BUCKET_ORIGINALS, key, study.file, 'application/dicom');
    await objects.put(buckets.BUCKET_ORIGINALS, junkKey, Buffer.from('not DICOM'), 'application/dicom');
    const logger = pino({ level: 'silent' });
    const instances = new InstanceStore({ objects, bucket: buckets.BUCKET_ORIGINALS, registry, logger, maxInstanceBytes: config.maxInstanceBytes });
    const sweep = new OrphanSweep({ objects, bucket: buckets.BUCKET_ORIGINALS, registry, instances, logger, maxInstanceBytes: config.maxInstanceBytes });

    const young = await sweep.sweep({ graceMs: 60 * 60_000 });
    expect(young).toMatchObject({ recorded: 0, removed: 0, failed: 0 });
    expect(young.young).toBeGreaterThanOrEqual(2);
    expect(await registry.instance(study.studyInstanceUid, study.sopInstanceUid)).toBeNull();

    const settled = await sweep.sweep({ graceMs: 0 });
    expect(settled).toMatchObject({ recorded: 1, removed: 1, failed: 0, young: 0 });
    expect((await registry.instance(study.studyInstanceUid, study.sopInstanceUid))?.objectKey).toBe(key);
    expect(await objects.stat(buckets.BUCKET_ORIGINALS, junkKey)).toBeNull();
    // No one scheduled its completion: the running ingest's reconciler does.
    await waitForAnalysis(study);
    expect(await sweep.sweep({ graceMs: 0 })).toMatchObject({ recorded: 0, removed: 0, failed: 0 });
  });
});

describe('after the faults', () => {
  test('has given every study exactly one analysis job, whatever the faults and resends', async () => {
    expect(completed.length).toBeGreaterThan(0);
    // Time for a second completion (a reconciler run, a late reschedule) to show up if there were one.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    for (const study of completed) expect((await analysisJobsOf(study)).map((j) => j.version)).toEqual([1]);
  });

  test('holds every acknowledged instance, byte for byte, and retrieves what was stored first', async () => {
    expect(acknowledged.length).toBeGreaterThan(0);
    for (const study of acknowledged) {
      const record = await registry.instance(study.studyInstanceUid, study.sopInstanceUid);
      expect(record).not.toBeNull();
      const stored = await objects.get(buckets.BUCKET_ORIGINALS, record!.objectKey);
      expect(dataSetOf(stored).equals(dataSetOf(study.file))).toBe(true);
      const res = await fetch(`${http}/dicomweb/studies/${study.studyInstanceUid}/series/${study.seriesInstanceUid}/instances/${study.sopInstanceUid}`);
      expect(res.status).toBe(200);
      const { boundary } = parseMultipartRelatedType(res.headers.get('content-type') ?? undefined);
      const parts = parseMultipartRelated(Buffer.from(await res.arrayBuffer()), boundary, 2);
      expect(parts[0]?.body.equals(stored)).toBe(true);
    }
  });
});

function dataSetOf(file: Buffer): Buffer {
  return file.subarray(readFileMetaInformation(file).dataSetOffset);
}

async function fetchStow(file: Buffer, ms: number): Promise<{ status: number; retryAfter: string | null }> {
  const { body, contentType } = encodeMultipartRelated([file]);
  const res = await fetch(`${http}/dicomweb/studies`, {
    method: 'POST', headers: { 'Content-Type': contentType, Accept: 'application/dicom+json' }, body, signal: AbortSignal.timeout(ms),
  });
  await res.arrayBuffer();
  return { status: res.status, retryAfter: res.headers.get('retry-after') };
}
