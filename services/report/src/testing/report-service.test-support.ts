import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, type Worker } from 'bullmq';
import type { Express } from 'express';
import { QUEUES, type ReportEvent, type Role } from '@cxr/contracts';
import { freePort, startRedisServer, startS3Server, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { createLogger, createRequestConnection, createWorkerConnection, ObjectStore, type Redis } from '@cxr/platform';
import { createApp } from '../app.ts';
import { createTestAuth, type HttpAuth } from '../auth/index.ts';
import { loadConfig, type ReportConfig } from '../config.ts';
import { startReportEventsConsumer, type ReportEventResult } from '../workers/report-events.ts';
import { createReportMetrics, type ReportMetrics } from '../metrics.ts';
import { createSecondReadService, type SecondReadService } from '../second-read/second-read-service.ts';
import { SecondReadStore } from '../second-read/second-read-store.ts';
import { ModelMonitor } from '../monitoring/model-monitor.ts';
import { ReportStore } from '../state/report-store.ts';

/** One redis-server and one s3rver (no buckets: each harness makes its own) in a temp dir. */
export interface BackingServers {
  redis: RedisServerHandle;
  s3: S3ServerHandle;
  /** The temp dir they keep their data in (removed by `stop`). */
  dir: string;
  stop(): Promise<void>;
}

/** For a test file's beforeAll: the real servers its harnesses share, each on its own prefix and buckets. */
export async function startBackingServers(name: string): Promise<BackingServers> {
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  const [redis, s3] = await Promise.all([
    freePort().then((port) => startRedisServer({ port, dir: join(dir, 'redis') })),
    freePort().then((port) => startS3Server({ port, dir: join(dir, 's3'), buckets: [], reset: true })),
  ]);
  return {
    redis,
    s3,
    dir,
    async stop() {
      await Promise.allSettled([redis.stop(), s3.stop()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The report service wired as main.ts wires it, against a real Redis and S3 server, on its own
 * queue prefix and buckets. `close()` stops the worker and removes the queue, the index keys,
 * the objects and the buckets.
 */
export interface ReportServiceHarness {
  config: ReportConfig;
  objects: ObjectStore;
  /** The API's store, on the request connection. */
  reports: ReportStore;
  /** The request connection (index reads, FLUSHDB in tests). */
  redis: Redis;
  auth: HttpAuth;
  /** A bearer token of the development issuer for `role`. */
  token(role: Role, sub?: string, name?: string): Promise<string>;
  queue: Queue;
  worker: Worker<unknown, ReportEventResult>;
  app: Express;
  metrics: ReportMetrics;
  /** The second read, as the app and the HL7 listener use it. */
  secondRead: SecondReadService;
  /** Model monitoring, when the harness was started with `{ monitor: true }`. */
  monitor?: ModelMonitor;
  /** Adds an event as producers do (job id from the contract, retries with a short fixed backoff), valid or not. */
  addEvent(event: unknown, jobId?: string): Promise<string>;
  /** Waits until a job has completed or failed for good. */
  waitForJob(jobId: string, timeoutMs?: number): Promise<'completed' | 'failed'>;
  close(): Promise<void>;
}

export async function startReportServiceHarness(
  servers: { redisUrl: string; s3Endpoint: string },
  env: Record<string, string> = {},
  options: { monitor?: boolean } = {},
): Promise<ReportServiceHarness> {
  const id = randomBytes(4).toString('hex');
  const config = loadConfig({
    REDIS_URL: servers.redisUrl,
    S3_ENDPOINT: servers.s3Endpoint,
    QUEUE_PREFIX: `report-test-${id}`,
    BUCKET_DERIVED: `derived-${id}`,
    BUCKET_REPORTS: `reports-${id}`,
    LOG_LEVEL: 'silent',
    REPORT_PUBLIC_URL: 'http://report.example.test:8090/',
    REPORT_EVENTS_CONCURRENCY: '4',
    ...env,
  });
  const logger = createLogger('report', config.logLevel);
  const objects = new ObjectStore(config.s3);
  await objects.ensureBuckets([config.buckets.derived, config.buckets.reports]);

  const workerConnection = createWorkerConnection(config.redisUrl);
  const queueConnection = createWorkerConnection(config.redisUrl);
  const requestConnection = createRequestConnection(config.redisUrl);
  const storeOptions = { objects, bucket: config.buckets.reports, keyPrefix: config.queuePrefix, urgentFindings: config.urgentFindings };
  const reports = new ReportStore({ ...storeOptions, redis: requestConnection });
  const metrics = createReportMetrics(() => reports.countByStatus());
  const monitorOptions = { queuePrefix: config.queuePrefix, retentionDays: config.monitoring.retentionDays, limits: config.monitoring.limits };
  const monitor = options.monitor ? new ModelMonitor({ ...monitorOptions, redis: requestConnection }) : undefined;
  const worker = startReportEventsConsumer({
    ...(options.monitor ? { monitor: new ModelMonitor({ ...monitorOptions, redis: workerConnection }) } : {}),
    config,
    logger,
    connection: workerConnection,
    objects,
    reports: new ReportStore({ ...storeOptions, redis: workerConnection }),
    metrics,
  });
  await worker.waitUntilReady();
  const { auth, token } = await createTestAuth();
  const secondRead = createSecondReadService({
    reports,
    store: new SecondReadStore({ objects, redis: requestConnection, bucket: config.buckets.reports, keyPrefix: config.queuePrefix }),
    metrics: metrics.secondRead,
    signUrl: (path) => auth.signUrl(path),
    publicUrl: config.publicUrl,
    logger,
  });
  const app = createApp({
    config, logger, objects, reports, redis: requestConnection, metrics, auth, secondRead,
    ...(monitor ? { monitor: { monitor, defaultWindowMs: config.monitoring.driftWindowMs } } : {}),
  });
  const queue = new Queue(QUEUES.reportEvents.name, { connection: queueConnection, prefix: config.queuePrefix });

  return {
    config,
    objects,
    reports,
    redis: requestConnection,
    auth,
    token,
    queue,
    worker,
    app,
    metrics,
    secondRead,
    ...(monitor ? { monitor } : {}),
    async addEvent(event, jobId) {
      const job = await queue.add((event as { type?: string }).type ?? 'invalid', event, {
        jobId: jobId ?? QUEUES.reportEvents.jobId(event as ReportEvent),
        attempts: 3,
        backoff: { type: 'fixed', delay: 100 },
      });
      return job.id!;
    },
    async waitForJob(jobId, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const state = await queue.getJobState(jobId);
        if (state === 'completed' || state === 'failed') return state;
        if (Date.now() > deadline) throw new Error(`job ${jobId} still ${state} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    async close() {
      await worker.close();
      await queue.obliterate({ force: true });
      await queue.close();
      await deleteKeys(requestConnection, `${config.queuePrefix}:*`);
      await Promise.allSettled([workerConnection.quit(), queueConnection.quit(), requestConnection.quit()]);
      for (const bucket of [config.buckets.derived, config.buckets.reports]) {
        for (const key of await objects.list(bucket, '')) await objects.remove(bucket, key);
        await objects.client.removeBucket(bucket);
      }
    },
  };
}

async function deleteKeys(redis: Redis, pattern: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}
