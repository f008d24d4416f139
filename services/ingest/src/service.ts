import { once } from 'node:events';
import type { Server } from 'node:http';
import { Queue, Worker, UnrecoverableError } from 'bullmq';
import {
  QUEUE_NAMES, studyCompletionJobSchema,
  type AnalysisRequest, type ReportEvent, type StudyCompletionJob,
} from '@cxr/contracts';
import {
  ObjectStore, createMetricsRegistry, createTokenVerifier, createRequestConnection, createWorkerConnection, errorMessage, prom, runJobInSpan,
  type Logger,
} from '@cxr/platform';
import { createHttpApp } from './app.ts';
import type { IngestConfig } from './config.ts';
import { IsolatedFrameDecoder } from '@cxr/dicom';
import { createDimseServer } from '@cxr/dimse';
import { createDimseHandlers } from './dimse/dimse-handlers.ts';
import { Pseudonymizer } from './privacy/pseudonym.ts';
import { InstanceStore } from './storage/instance-store.ts';
import { CompletionScheduler } from './studies/completion-scheduler.ts';
import { redisModelScopeSource } from './studies/eligibility.ts';
import { StudyProcessor } from './studies/study-processor.ts';
import { StudyRegistry } from './studies/study-registry.ts';

export interface IngestService {
  start(): Promise<{ dimse: { host: string; port: number }; http: { host: string; port: number } }>;
  stop(): Promise<void>;
}

const DIMSE_FALLBACK_COMPLETION_MS = 5 * 60_000;

/**
 * Wires the ingest service: DIMSE SCP and STOW-RS receive instances into the InstanceStore;
 * the CompletionScheduler decides when a study is complete; the StudyProcessor (a BullMQ
 * worker on the study-completion queue) prepares inputs and queues analysis.
 */
export function createIngestService(config: IngestConfig, logger: Logger): IngestService {
  const objects = new ObjectStore(config.s3);
  const requestRedis = createRequestConnection(config.redisUrl);
  const workerRedis = createWorkerConnection(config.redisUrl);
  const queueOptions = { connection: requestRedis, prefix: config.queuePrefix };
  const completionQueue = new Queue<StudyCompletionJob>(QUEUE_NAMES.studyCompletion, queueOptions);
  const analysisQueue = new Queue<AnalysisRequest>(QUEUE_NAMES.analysis, queueOptions);
  const reportEventsQueue = new Queue<ReportEvent>(QUEUE_NAMES.reportEvents, queueOptions);
  for (const q of [completionQueue, analysisQueue, reportEventsQueue]) {
    q.on('error', (error) => logger.warn({ queue: q.name, reason: errorMessage(error) }, 'queue connection problem'));
  }
  requestRedis.on('error', (error) => logger.warn({ reason: errorMessage(error) }, 'redis connection problem'));
  workerRedis.on('error', (error) => logger.warn({ reason: errorMessage(error) }, 'redis connection problem'));

  const registry = new StudyRegistry(requestRedis, config.queuePrefix, new Pseudonymizer(config.pseudonymSecret));
  const instances = new InstanceStore({ objects, bucket: config.buckets.originals, registry, logger, maxInstanceBytes: config.maxInstanceBytes });
  const scheduler = new CompletionScheduler(completionQueue, config.studyStableMs, Math.max(DIMSE_FALLBACK_COMPLETION_MS, config.studyStableMs));
  const decoder = new IsolatedFrameDecoder({ timeoutMs: 30_000, maxBytes: config.maxInstanceBytes });
  const processor = new StudyProcessor({
    registry, objects, buckets: config.buckets, analysisQueue, reportEventsQueue,
    scope: redisModelScopeSource(requestRedis, config.queuePrefix, (reason) => logger.warn({ reason }, 'model scope')), analysisMaxSize: config.analysisMaxSize, analysisInputSize: config.analysisInputSize, maxImagesPerStudy: 8, logger, decoder,
  });

  const metrics = createMetricsRegistry('ingest');
  const received = new prom.Counter({ name: 'cxr_ingest_instances_total', help: 'Instances received, by protocol and outcome', labelNames: ['protocol', 'outcome'] as const, registers: [metrics] });
  const studiesCompleted = new prom.Counter({ name: 'cxr_ingest_studies_completed_total', help: 'Study completion runs, by outcome', labelNames: ['outcome'] as const, registers: [metrics] });
  const associations = new prom.Gauge({ name: 'cxr_ingest_dimse_associations', help: 'Open DIMSE associations', registers: [metrics] });

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

  let completionWorker: Worker<StudyCompletionJob> | undefined;
  let server: Server | undefined;
  const gaugeTimer = setInterval(() => associations.set(dimse.activeAssociations()), 1000);
  gaugeTimer.unref();

  return {
    async start() {
      await objects.ensureBuckets([config.buckets.originals, config.buckets.derived]);
      completionWorker = new Worker<StudyCompletionJob>(
        QUEUE_NAMES.studyCompletion,
        async (job) => {
          const parsed = studyCompletionJobSchema.safeParse(job.data);
          if (!parsed.success) throw new UnrecoverableError(`invalid study-completion job: ${parsed.error.message}`);
          const { studyInstanceUid, trigger, trace } = parsed.data;
          const attributes = { 'cxr.study_key': registry.studyKey(studyInstanceUid), 'cxr.trigger': trigger, 'messaging.message.attempt': job.attemptsMade + 1 };
          return runJobInSpan(QUEUE_NAMES.studyCompletion, trace, attributes, async (span) => {
            const outcome = await processor.process(studyInstanceUid);
            span.setAttributes({ 'cxr.outcome': outcome.kind, ...('version' in outcome ? { 'cxr.version': outcome.version } : {}) });
            studiesCompleted.inc({ outcome: outcome.kind });
            return outcome;
          });
        },
        { connection: workerRedis, prefix: config.queuePrefix, concurrency: config.studyConcurrency },
      );
      completionWorker.on('failed', (job, error) => {
        logger.warn({ jobId: job?.id, attempts: job?.attemptsMade, reason: errorMessage(error) }, 'study completion failed');
      });
      completionWorker.on('error', (error) => logger.warn({ reason: errorMessage(error) }, 'study completion worker problem'));
      const dimseAddress = await dimse.listen();
      server = app.listen(config.http.port, config.http.host);
      await once(server, 'listening');
      const address = server.address();
      const httpPort = typeof address === 'object' && address ? address.port : config.http.port;
      return { dimse: dimseAddress, http: { host: config.http.host, port: httpPort } };
    },
    async stop() {
      clearInterval(gaugeTimer);
      await dimse.close();
      if (server) {
        server.close();
        server.closeAllConnections();
      }
      await completionWorker?.close();
      await decoder.close();
      await Promise.all([completionQueue.close(), analysisQueue.close(), reportEventsQueue.close()]);
      requestRedis.disconnect();
      workerRedis.disconnect();
    },
  };
}
