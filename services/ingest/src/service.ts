import { once } from 'node:events';
import type { Server } from 'node:http';
import { QUEUES } from '@cxr/contracts';
import {
  ObjectStore, createTokenVerifier, createRequestConnection, createWorkerConnection, errorMessage, openQueue,
  type Logger,
} from '@cxr/platform';
import { createHttpApp } from './app.ts';
import type { IngestConfig } from './config.ts';
import { createIngestMetrics } from './metrics.ts';
import { IsolatedFrameDecoder } from '@cxr/dicom';
import { createDimseServer } from '@cxr/dimse';
import { createDimseHandlers } from './dimse/dimse-handlers.ts';
import { Pseudonymizer } from './privacy/pseudonym.ts';
import { FinalReportHandoff } from './reports/final-report-handoff.ts';
import { InstanceStore } from './storage/instance-store.ts';
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
  const objects = new ObjectStore(config.s3);
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
  const processor = new StudyProcessor({
    registry, objects, buckets: config.buckets, analysisQueue, reportEventsQueue,
    scope: redisModelScopeSource(requestRedis, config.queuePrefix, (reason) => logger.warn({ reason }, 'model scope')), analysisMaxSize: config.analysisMaxSize, analysisInputSize: config.analysisInputSize, maxImagesPerStudy: 8, logger, decoder,
  });

  const { registry: metrics, received, studiesCompleted, associations } = createIngestMetrics();

  const checkReady = async () => ({
    redis: await registry.ping().catch(() => false),
    storage: await objects.ping(config.buckets.originals),
  });

  const app = createHttpApp({
    instances, scheduler, registry, objects, originalsBucket: config.buckets.originals,
    senderAuth: { apiKeys: config.stow.apiKeys, verifier: createTokenVerifier(config.auth), required: config.stow.requireAuth }, maxRequestBytes: config.stow.maxRequestBytes, maxParts: 10_000,
    logger, received, metrics, checkReady,
  });

  const dimse = createDimseServer({
    host: config.dimse.host,
    port: config.dimse.port,
    aeTitle: config.dimse.aeTitle,
    allowedCallingAeTitles: config.dimse.allowedCallingAeTitles,
    maxAssociations: config.dimse.maxAssociations,
    maxPduLength: config.dimse.maxPduLength,
    maxInstanceBytes: config.maxInstanceBytes,
    logger,
    ...createDimseHandlers({ instances, scheduler, registry, received, logger }),
  });

  let workers: IngestWorkers | undefined;
  let server: Server | undefined;
  const gaugeTimer = setInterval(() => associations.set(dimse.activeAssociations()), 1000);
  gaugeTimer.unref();

  return {
    async start() {
      await objects.ensureBuckets([config.buckets.originals, config.buckets.derived]);
      workers = initWorkers({
        connection: workerRedis, prefix: config.queuePrefix, concurrency: config.studyConcurrency,
        processor, studyKey: (uid) => registry.studyKey(uid), studiesCompleted, logger,
      });
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
      if (server) {
        server.close();
        server.closeAllConnections();
      }
      await step('queue workers', closeWorkers(workers, WORKER_CLOSE_GRACE_MS), WORKER_CLOSE_GRACE_MS + STOP_STEP_MS);
      await step('frame decoder', decoder.close());
      await step('queues', Promise.all([completionQueue.close(), analysisQueue.close(), reportEventsQueue.close(), finalReportsQueue.close()]));
      requestRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}
