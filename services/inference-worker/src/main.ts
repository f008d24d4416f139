import { once } from 'node:events';
import { REFERENCE_MODEL_DIR, loadModelPackage, loadModelPackageInThread } from '@cxr/inference';
import { ObjectStore, createLogger, createMetricsRegistry, createRequestConnection, createWorkerConnection, initTracing } from '@cxr/platform';
import { startAnalysisWorker } from './analysis-worker.ts';
import { createApp } from './app.ts';
import { loadConfig } from './config.ts';

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

const modelDir = config.modelDir ?? REFERENCE_MODEL_DIR;
const loadOptions = { executionProviders: config.executionProviders, intraOpNumThreads: config.intraOpThreads };
const threaded = config.modelThread ? await loadModelPackageInThread(modelDir, loadOptions) : undefined;
const model = threaded ?? (await loadModelPackage(modelDir, loadOptions));
logger.info(
  { model: `${model.manifest.id}@${model.manifest.version}`, executionProvider: model.executionProvider, requested: config.executionProviders, fallback: model.fallback, thread: config.modelThread },
  'model loaded',
);
if (threaded) {
  // A dead model thread cannot be brought back in this process: exit so the orchestrator starts a
  // fresh one. Jobs in flight failed as transient (ModelUnavailableError) and are retried.
  threaded.exited.catch((error: unknown) => {
    logger.error({ err: error }, 'model thread died; exiting');
    process.exit(1);
  });
}

const worker = startAnalysisWorker({
  workerConnection, queueConnection, queuePrefix: config.queuePrefix, objects, derivedBucket: config.buckets.derived, model,
  concurrency: config.concurrency, batch: config.batch, lockDurationMs: config.lockDurationMs, stalledIntervalMs: config.stalledIntervalMs, logger, metrics,
});
ready = true;
logger.info({ http: `http://${config.http.host}:${config.http.port}`, concurrency: config.concurrency }, 'inference worker ready');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    ready = false;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    worker
      .close(config.shutdownGraceMs)
      .then(async () => {
        await model.close();
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
