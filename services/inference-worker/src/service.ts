import { once } from 'node:events';
import type { Server } from 'node:http';
import { modelScopeKey, modelValidationKey, type PublishedModelScope, type PublishedModelValidation } from '@cxr/contracts';
import type { ModelPackage, ThreadedModelPackage } from '@cxr/inference';
import { ObjectStore, createMetricsRegistry, createRequestConnection, createWorkerConnection, errorMessage, prom, type Logger } from '@cxr/platform';
import { createApp } from './app.ts';
import type { WorkerConfig } from './config.ts';
import { modelKey, watchModelKey } from './models/model-key-watcher.ts';
import { modelCpusOf } from './models/model-cpus.ts';
import { ModelRegistry } from './models/model-registry.ts';
import { closeWorkers, initWorkers, type WorkerServiceWorkers } from './workers/index.ts';

/** How often the worker publishes its model's scope again (see publishScope). */
const SCOPE_REPUBLISH_MS = 30_000;

export interface WorkerService {
  /** Loads and warms up the model, starts the analysis worker and the HTTP surface; ready when it resolves. */
  start(): Promise<{ http: { host: string; port: number }; model: string }>;
  /** Reads the model key again now, giving refused versions another chance (SIGHUP). */
  reloadModel(): Promise<void>;
  /** Stops taking jobs, lets running ones finish within the grace period, closes everything. */
  stop(): Promise<void>;
}

export interface WorkerServiceOptions {
  /**
   * Told when the worker cannot go on in this process (its model thread died): main.ts exits so the
   * orchestrator starts a fresh one. Jobs in flight failed as transient (ModelUnavailableError) and are retried.
   */
  onFatal(error: unknown): void;
}

/**
 * Wires the inference worker: the model registry (the model in service, replaced without dropping
 * jobs when the Redis model key names a new version), the analysis worker (workers/) and the
 * health/metrics HTTP surface. Reads no environment and opens nothing until `start`.
 */
export function createWorkerService(config: WorkerConfig, logger: Logger, options: WorkerServiceOptions): WorkerService {
  const metrics = createMetricsRegistry('inference-worker');
  const objects = new ObjectStore(config.s3);
  const workerConnection = createWorkerConnection(config.redisUrl);
  const queueConnection = createRequestConnection(config.redisUrl);
  let ready = false;

  const app = createApp({
    metrics,
    logger,
    checkReady: async () => ({
      model: ready,
      redis: (await queueConnection.ping().catch(() => '')) === 'PONG',
      storage: await objects.ping(config.buckets.derived),
    }),
  });

  // Ingest decides eligibility by the scope of the model that will run: published when a model goes
  // into service, and again every SCOPE_REPUBLISH_MS so a Redis that lost its data (restart without
  // AOF, FLUSHDB) has it back soon instead of ingest falling back to the default scope until the next switch.
  function publishScope(model: ModelPackage): void {
    const published: PublishedModelScope = { model: `${model.manifest.id}@${model.manifest.version}`, scope: model.scope, publishedAt: new Date().toISOString() };
    queueConnection.set(modelScopeKey(config.queuePrefix), JSON.stringify(published)).catch((error: unknown) => logger.warn({ reason: errorMessage(error) }, 'could not publish the model scope'));
  }
  let republish: NodeJS.Timeout | undefined;

  // Model monitoring compares each version's live rates with its package's validation figures:
  // published per version (no expiry; a version's figures never change), for the active and the shadow.
  function publishValidation(model: ModelPackage): void {
    const name = `${model.manifest.id}@${model.manifest.version}`;
    const published: PublishedModelValidation = { model: name, validation: model.manifest.validation ?? null, publishedAt: new Date().toISOString() };
    queueConnection.set(modelValidationKey(config.queuePrefix, name), JSON.stringify(published)).catch((error: unknown) => logger.warn({ reason: errorMessage(error) }, 'could not publish the model validation figures'));
  }

  // WORKER_MODEL_CPUS: each model thread pins itself; the rest of the process is moved off its CPUs
  // whenever a model (active or shadow) comes into service, so threads started since are moved too.
  const modelCpus = config.modelCpus ? modelCpusOf(config.modelCpus) : undefined;
  const modelThreads = new Map<'active' | 'shadow', number>();
  function keepOffModelCpus(role: 'active' | 'shadow', model: ModelPackage): void {
    if (!modelCpus) return;
    const tid = (model as Partial<ThreadedModelPackage>).threadId;
    if (tid !== undefined) modelThreads.set(role, tid);
    modelCpus.keepOthersOff([...modelThreads.values()]);
    logger.info({ modelCpus: modelCpus.model, otherCpus: modelCpus.rest, role }, 'model thread on its own CPUs');
  }

  const registry = new ModelRegistry({
    store: { source: config.modelSource, cacheDir: config.modelCacheDir, objects },
    loadOptions: { executionProviders: config.executionProviders, intraOpNumThreads: config.intraOpThreads },
    thread: config.modelThread,
    ...(modelCpus ? { threadCpus: modelCpus.model } : {}),
    warmUpImages: config.batch.maxImages,
    logger,
    metrics,
    requireOodDetector: !config.allowModelsWithoutOod,
    onActivated(model) {
      keepOffModelCpus('active', model);
      publishScope(model);
      publishValidation(model);
      // A dead model thread cannot be brought back in this process. A thread closed because its
      // model was replaced ends normally.
      (model as Partial<ThreadedModelPackage>).exited?.catch((error: unknown) => {
        logger.error({ err: error }, 'model thread died');
        options.onFatal(error);
      });
    },
  });

  // Shadow mode: a second registry for the candidate version, with its own (unexposed) metrics
  // registry so its gauges do not collide with the active model's; cxr_worker_shadow_model_info says which.
  const shadowInfo = new prom.Gauge({ name: 'cxr_worker_shadow_model_info', help: 'The shadow model version run beside the active one (1), WORKER_SHADOW_MODEL', labelNames: ['id', 'version'] as const, registers: [metrics] });
  const shadowRegistry = config.shadowModel
    ? new ModelRegistry({
        store: { source: config.modelSource, cacheDir: config.modelCacheDir, objects },
        loadOptions: { executionProviders: config.executionProviders, intraOpNumThreads: config.intraOpThreads },
        thread: config.modelThread,
        ...(modelCpus ? { threadCpus: modelCpus.model } : {}),
        warmUpImages: config.batch.maxImages,
        logger: logger.child({ shadow: true }),
        metrics: new prom.Registry(),
        requireOodDetector: !config.allowModelsWithoutOod,
        onActivated(model) {
          keepOffModelCpus('shadow', model);
          publishValidation(model);
          shadowInfo.reset();
          shadowInfo.set({ id: model.manifest.id, version: model.manifest.version }, 1);
        },
      })
    : undefined;

  // A new version is picked up from the Redis key (polled, and read at once on SIGHUP), loaded and
  // warmed beside the current one, then switched to without dropping jobs.
  const watcher = watchModelKey({
    redis: queueConnection, key: modelKey(config.queuePrefix), intervalMs: config.modelPollMs, logger,
    onRef: (ref) => registry.switchTo(ref),
  });

  let server: Server | undefined;
  let workers: WorkerServiceWorkers | undefined;

  return {
    async start() {
      server = app.listen(config.http.port, config.http.host);
      await once(server, 'listening');
      // Refuses a bad package (ModelPackageError) by throwing: the worker never becomes ready.
      const models = await registry.start(config.model);
      // A shadow that cannot be loaded is logged and left out: it must never keep the worker from serving.
      const shadow = shadowRegistry
        ? await shadowRegistry.start({ kind: 'ref', ref: config.shadowModel! }).then(
            (slot) => ({ models: slot }),
            (error: unknown) => {
              logger.error({ shadow: `${config.shadowModel!.id}@${config.shadowModel!.version}`, reason: errorMessage(error) }, 'shadow model refused; running without a shadow');
              return undefined;
            },
          )
        : undefined;
      workers = initWorkers({
        ...(shadow ? { shadow } : {}),
        workerConnection, queueConnection, queuePrefix: config.queuePrefix, objects, derivedBucket: config.buckets.derived, models,
        concurrency: config.concurrency, batch: config.batch, lockDurationMs: config.lockDurationMs, stalledIntervalMs: config.stalledIntervalMs, logger, metrics,
      });
      await watcher.checkNow();
      republish = setInterval(() => publishScope(registry.models.model), SCOPE_REPUBLISH_MS);
      republish.unref();
      ready = true;
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.http.port;
      return { http: { host: config.http.host, port }, model: `${models.model.manifest.id}@${models.model.manifest.version}` };
    },
    async reloadModel() {
      logger.info({ key: modelKey(config.queuePrefix) }, 'reading the model key again');
      registry.forgetRefusals();
      await watcher.checkNow().catch((error: unknown) => logger.warn({ reason: errorMessage(error) }, 'model key check failed'));
    },
    async stop() {
      ready = false;
      clearInterval(republish);
      watcher.stop();
      await closeWorkers(workers, config.shutdownGraceMs);
      await registry.close();
      await shadowRegistry?.close().catch(() => undefined);
      server?.close();
      workerConnection.disconnect();
      queueConnection.disconnect();
    },
  };
}
