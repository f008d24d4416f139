import { once } from 'node:events';
import type { ThreadedModelPackage } from '@cxr/inference';
import { ObjectStore, createLogger, createMetricsRegistry, createRequestConnection, createWorkerConnection, errorMessage, initTracing } from '@cxr/platform';
import { closeWorkers, initWorkers } from './workers/index.ts';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';
import { modelKey, watchModelKey } from './models/model-key-watcher.ts';
import { ModelRegistry } from './models/model-registry.ts';

const config = loadConfig(process.env);
const tracing = initTracing('inference-worker', config.tracing);
const logger = createLogger('inference-worker', config.logLevel);
const metrics = createMetricsRegistry('inference-worker');
const objects = new ObjectStore(config.s3);
const workerConnection = createWorkerConnection(config.redisUrl);
const queueConnection = createRequestConnection(config.redisUrl);
let ready = false;

const server = createApp({
  metrics,
  logger,
  checkReady: async () => ({
    model: ready,
    redis: (await queueConnection.ping().catch(() => '')) === 'PONG',
    storage: await objects.ping(config.buckets.derived),
  }),
}).listen(config.http.port, config.http.host);
await once(server, 'listening');

const registry = new ModelRegistry({
  store: { source: config.modelSource, cacheDir: config.modelCacheDir, objects },
  loadOptions: { executionProviders: config.executionProviders, intraOpNumThreads: config.intraOpThreads },
  thread: config.modelThread,
  warmUpImages: config.batch.maxImages,
  logger,
  metrics,
  onActivated(model) {
    // A dead model thread cannot be brought back in this process: exit so the orchestrator starts a
    // fresh one. Jobs in flight failed as transient (ModelUnavailableError) and are retried. A thread
    // closed because its model was replaced ends normally.
    (model as Partial<ThreadedModelPackage>).exited?.catch((error: unknown) => {
      logger.error({ err: error }, 'model thread died; exiting');
      process.exit(1);
    });
  },
});
// Refuses a bad package (ModelPackageError) by throwing: the pod never becomes ready.
const models = await registry.start(config.model);

const workers = initWorkers({
  workerConnection, queueConnection, queuePrefix: config.queuePrefix, objects, derivedBucket: config.buckets.derived, models,
  concurrency: config.concurrency, batch: config.batch, lockDurationMs: config.lockDurationMs, stalledIntervalMs: config.stalledIntervalMs, logger, metrics,
});

// A new version is picked up from the Redis key (polled, and read at once on SIGHUP), loaded and
// warmed beside the current one, then switched to without dropping jobs.
const watcher = watchModelKey({
  redis: queueConnection, key: modelKey(config.queuePrefix), intervalMs: config.modelPollMs, logger,
  onRef: (ref) => registry.switchTo(ref),
});
await watcher.checkNow();
ready = true;
logger.info({ http: `http://${config.http.host}:${config.http.port}`, concurrency: config.concurrency, model: `${models.model.manifest.id}@${models.model.manifest.version}` }, 'inference worker ready');

process.on('SIGHUP', () => {
  logger.info({ key: modelKey(config.queuePrefix) }, 'SIGHUP: reading the model key again');
  registry.forgetRefusals();
  watcher.checkNow().catch((error: unknown) => logger.warn({ reason: errorMessage(error) }, 'model key check failed'));
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    ready = false;
    watcher.stop();
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    closeWorkers(workers, config.shutdownGraceMs)
      .then(async () => {
        await registry.close();
        server.close();
        workerConnection.disconnect();
        queueConnection.disconnect();
        await tracing.shutdown().catch(() => undefined); // sends the spans still buffered
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      });
  });
}
