import { once } from 'node:events';
import type { Server } from 'node:http';
import { QUEUES } from '@cxr/contracts';
import {
  createTokenVerifier, createRequestConnection, createWorkerConnection, errorMessage, isPermanent, openQueue,
  type Logger,
} from '@cxr/platform';
import { createHttpApp } from './app.ts';
import type { IngestConfig } from './config.ts';
import { createIngestMetrics } from './metrics.ts';
import { IsolatedFrameDecoder } from '@cxr/dicom';
import { createDimseServer } from '@cxr/dimse';
import { createDimseHandlers } from './dimse/dimse-handlers.ts';
import { MemoryBudget, receiveBudgetBytes } from './receive/memory-budget.ts';
import { Pseudonymizer } from './privacy/pseudonym.ts';
import { ReadinessProbe } from './readiness.ts';
import { PriorFinder } from './priors/prior-finder.ts';
import { priorSourcesFrom, registryPatientIndex } from './priors/prior-sources.ts';
import { FinalReportHandoff } from './reports/final-report-handoff.ts';
import { InstanceStore } from './storage/instance-store.ts';
import { ResilientObjectStore } from './storage/resilient-object-store.ts';
import { CompletionReconciler } from './studies/completion-reconciler.ts';
import { CompletionScheduler } from './studies/completion-scheduler.ts';
import { redisModelScopeSource } from './studies/eligibility.ts';
import { StudyProcessor } from './studies/study-processor.ts';
import { StudyRegistry } from './studies/study-registry.ts';
import { closeWorkers, initWorkers, type IngestWorkers } from './workers/index.ts';

export interface IngestService {
  start(): Promise<{ dimse: { host: string; port: number }; http: { host: string; port: number } }>;
  stop(): Promise<void>;
}

const DIMSE_FALLBACK_COMPLETION_MS = 5 * 60_000;
/** Longest a shutdown step may take before the service goes on without it (workers: their grace, then force). */
const STOP_STEP_MS = 5_000;
const WORKER_CLOSE_GRACE_MS = 10_000;

async function boundedStep(what: string, work: Promise<unknown>, ms: number, logger: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), ms);
  });
  const outcome = await Promise.race([work.then(() => 'done' as const, (error: unknown) => error), late]);
  clearTimeout(timer);
  if (outcome === 'late') logger.warn({ step: what, ms }, 'shutdown step did not finish in time; going on without it');
  else if (outcome !== 'done') logger.warn({ step: what, reason: errorMessage(outcome) }, 'shutdown step failed');
}

/**
 * Wires the ingest service: DIMSE SCP and STOW-RS receive instances into the InstanceStore;
 * the CompletionScheduler decides when a study is complete; the StudyProcessor (run by the
 * study-completion worker, workers/) prepares inputs and queues analysis.
 */
export function createIngestService(config: IngestConfig, logger: Logger): IngestService {
  const objects = new ResilientObjectStore(config.s3, config.storage);
  const requestRedis = createRequestConnection(config.redisUrl);
  const workerRedis = createWorkerConnection(config.redisUrl);
  const queueOptions = { connection: requestRedis, prefix: config.queuePrefix };
  const completionQueue = openQueue(QUEUES.studyCompletion, queueOptions);
  const analysisQueue = openQueue(QUEUES.analysis, queueOptions);
  const reportEventsQueue = openQueue(QUEUES.reportEvents, queueOptions);
  const finalReportsQueue = openQueue(QUEUES.finalReports, queueOptions);
  for (const q of [completionQueue, analysisQueue, reportEventsQueue, finalReportsQueue]) {
    q.on('error', (error) => logger.warn({ queue: q.name, reason: errorMessage(error) }, 'queue connection problem'));
  }
  requestRedis.on('error', (error) => logger.warn({ reason: errorMessage(error) }, 'redis connection problem'));
  workerRedis.on('error', (error) => logger.warn({ reason: errorMessage(error) }, 'redis connection problem'));

  const registry = new StudyRegistry(requestRedis, config.queuePrefix, new Pseudonymizer(config.pseudonymSecret));
  const instances = new InstanceStore({
    objects, bucket: config.buckets.originals, registry, logger, maxInstanceBytes: config.maxInstanceBytes,
    finalReports: new FinalReportHandoff({ queue: finalReportsQueue, logger }),
  });
  const scheduler = new CompletionScheduler(completionQueue, config.studyStableMs, Math.max(DIMSE_FALLBACK_COMPLETION_MS, config.studyStableMs));
  const decoder = new IsolatedFrameDecoder({ timeoutMs: 30_000, maxBytes: config.maxInstanceBytes });
  const priors = new PriorFinder({
    index: registryPatientIndex(registry),
    sources: priorSourcesFrom(config.priors.pacs, { aeTitle: config.dimse.aeTitle, waitMs: config.priors.waitMs, maxStudyBytes: config.stow.maxRequestBytes }),
    settings: config.priors,
    accept: async (bytes, source) => {
      try {
        await instances.accept(bytes, { protocol: 'prior-retrieval', sender: source });
      } catch (error) {
        // One instance of a prior we would refuse from any sender (e.g. malformed) leaves the rest of the prior usable.
        if (!isPermanent(error)) throw error;
      }
    },
    logger,
  });
  const processor = new StudyProcessor({
    registry, objects, buckets: config.buckets, analysisQueue, reportEventsQueue, priors,
    scope: redisModelScopeSource(requestRedis, config.queuePrefix, (reason) => logger.warn({ reason }, 'model scope')), analysisMaxSize: config.analysisMaxSize, analysisInputSize: config.analysisInputSize, maxImagesPerStudy: 8, logger, decoder,
  });

  const { registry: metrics, received, studiesCompleted, associations, pendingConnections, receiveReserved, receiveBudget: budgetGauge, receiveRefused } = createIngestMetrics();

  // One budget for every instance being received, DIMSE and STOW-RS together.
  const budgetSize = receiveBudgetBytes(config.receiveMemoryBytes);
  const receiveBudget = new MemoryBudget(budgetSize.bytes);
  logger.info({ bytes: budgetSize.bytes, source: budgetSize.source }, 'receive memory budget');
  if (config.maxInstanceBytes > budgetSize.bytes) {
    logger.warn({ maxInstanceBytes: config.maxInstanceBytes, budgetBytes: budgetSize.bytes }, 'INGEST_MAX_INSTANCE_BYTES exceeds the receive memory budget: larger instances are always refused as out of resources');
  }

  // Readiness has its own connection: its probe must neither wait behind the C-STOREs' commands nor,
  // when writes are paused, leave one of its own blocking that connection for them.
  const probeRedis = createRequestConnection(config.redisUrl);
  probeRedis.on('error', () => undefined); // reported by readiness itself
  const probeRegistry = new StudyRegistry(probeRedis, config.queuePrefix, new Pseudonymizer(config.pseudonymSecret));
  const readiness = new ReadinessProbe({
    redis: () => probeRegistry.ping(),
    storage: () => objects.ping(config.buckets.originals),
  }, config.readyTimeoutMs);
  const checkReady = () => readiness.check();
  const reconciler = new CompletionReconciler({ registry, scheduler, logger, graceMs: config.reconcile.graceMs, intervalMs: config.reconcile.intervalMs });

  const app = createHttpApp({
    instances, scheduler, registry, objects, originalsBucket: config.buckets.originals,
    senderAuth: { apiKeys: config.stow.apiKeys, verifier: createTokenVerifier(config.auth), required: config.stow.requireAuth }, maxRequestBytes: config.stow.maxRequestBytes, maxParts: 10_000,
    budget: receiveBudget, maxConcurrentRequests: config.stow.maxConcurrent, receiveRate: config.receiveRate,
    logger, received, refused: receiveRefused, metrics, checkReady,
  });

  const dimse = createDimseServer({
    host: config.dimse.host,
    port: config.dimse.port,
    aeTitle: config.dimse.aeTitle,
    allowedCallingAeTitles: config.dimse.allowedCallingAeTitles,
    maxAssociations: config.dimse.maxAssociations,
    maxPduLength: config.dimse.maxPduLength,
    artimTimeoutMs: config.dimse.artimTimeoutMs,
    idleTimeoutMs: config.dimse.idleTimeoutMs,
    maxPendingConnections: config.dimse.maxPendingConnections,
    maxConnectionsPerPeer: config.dimse.maxConnectionsPerPeer,
    maxAssociationsPerPeer: config.dimse.maxAssociationsPerPeer,
    maxAssociationsPerCallingAe: config.dimse.maxAssociationsPerCallingAe,
    minReceiveBytesPerSecond: config.receiveRate.minBytesPerSecond,
    receiveRateWindowMs: config.receiveRate.windowMs,
    messageTimeoutMs: config.dimse.messageTimeoutMs,
    receiveBudget,
    maxInstanceBytes: config.maxInstanceBytes,
    logger,
    ...createDimseHandlers({ instances, scheduler, registry, received, refused: receiveRefused, logger }),
  });

  let workers: IngestWorkers | undefined;
  let server: Server | undefined;
  budgetGauge.set(receiveBudget.limitBytes);
  const gaugeTimer = setInterval(() => {
    associations.set(dimse.activeAssociations());
    pendingConnections.set(dimse.pendingConnections());
    receiveReserved.set(receiveBudget.reservedBytes);
  }, 1000);
  gaugeTimer.unref();

  return {
    async start() {
      await objects.ensureBuckets([config.buckets.originals, config.buckets.derived]);
      workers = initWorkers({
        connection: workerRedis, prefix: config.queuePrefix, concurrency: config.studyConcurrency,
        processor, studyKey: (uid) => registry.studyKey(uid), studiesCompleted, logger,
      });
      reconciler.start();
      const dimseAddress = await dimse.listen();
      server = app.listen(config.http.port, config.http.host);
      await once(server, 'listening');
      const address = server.address();
      const httpPort = typeof address === 'object' && address ? address.port : config.http.port;
      return { dimse: dimseAddress, http: { host: config.http.host, port: httpPort } };
    },
    async stop() {
      clearInterval(gaugeTimer);
      // Each step is bounded: after Redis restarted, BullMQ's closes can wait for ever on a connection
      // that never settles, and a shutdown that never ends is worse than one that drops those connections
      // (nothing accepted is lost: what was acknowledged is stored and recorded, jobs are re-run).
      const step = (what: string, work: Promise<unknown>, ms = STOP_STEP_MS) => boundedStep(what, work, ms, logger);
      await step('DIMSE server', dimse.close());
      await step('completion reconciler', reconciler.stop());
      if (server) {
        server.close();
        server.closeAllConnections();
      }
      await step('queue workers', closeWorkers(workers, WORKER_CLOSE_GRACE_MS), WORKER_CLOSE_GRACE_MS + STOP_STEP_MS);
      await step('frame decoder', decoder.close());
      await step('queues', Promise.all([completionQueue.close(), analysisQueue.close(), reportEventsQueue.close(), finalReportsQueue.close()]));
      requestRedis.disconnect();
      workerRedis.disconnect();
      probeRedis.disconnect();
    },
  };
}
