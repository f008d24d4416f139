/**
 * The `analysis` queue (ingest → inference-worker): the worker that analyses one version of a
 * study and tells the report service how it went on `report-events`. Name, schema, options and
 * job id are `QUEUES.analysis` in @cxr/contracts; ingest adds the jobs.
 */
import type { Job } from 'bullmq';
import { QUEUE_NAMES, QUEUES, type AnalysisRequest, type ReportEvent } from '@cxr/contracts';
import { createValidatedWorker, errorMessage, isPermanent, openQueue, prom, publishJob, type Logger, type ObjectStore, type Redis } from '@cxr/platform';
import type { Registry } from 'prom-client';
import { analyseStudy } from '../analysis/analyse-study.ts';
import { MicroBatcher } from '../analysis/micro-batcher.ts';
import type { PresentationImage } from '@cxr/inference';
import type { ModelRun, ModelSlot } from '../models/model-slot.ts';

export interface AnalysisWorkerDeps {
  workerConnection: Redis;
  queueConnection: Redis;
  queuePrefix: string;
  objects: ObjectStore;
  derivedBucket: string;
  /** The model in service (replaceable while jobs run: see models/model-registry.ts). */
  models: ModelSlot;
  concurrency: number;
  batch: { maxImages: number; maxWaitMs: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  logger: Logger;
  metrics: Registry;
}


/**
 * Takes analysis jobs. Permanent failures (unreadable input, a model that refuses it) fail the
 * job at once and tell the report service why; transient ones (storage, Redis) are retried with
 * backoff by BullMQ. Effects are idempotent (deterministic keys and event job ids), so the
 * at-least-once redelivery after a crash leaves exactly one result.
 */
export function startAnalysisWorker(deps: AnalysisWorkerDeps) {
  const { logger } = deps;
  const events = openQueue(QUEUES.reportEvents, { connection: deps.queueConnection, prefix: deps.queuePrefix });
  events.on('error', (error) => logger.warn({ reason: errorMessage(error) }, 'report-events queue problem'));

  const jobs = new prom.Counter({ name: 'cxr_worker_jobs_total', help: 'Analysis jobs by outcome', labelNames: ['outcome'] as const, registers: [deps.metrics] });
  const stageSeconds = new prom.Histogram({
    name: 'cxr_worker_stage_seconds', help: 'Per-stage latency of analysis jobs', labelNames: ['stage'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [deps.metrics],
  });
  // What is really waiting for a worker: BullMQ keeps prioritised jobs in a sorted set, not the
  // wait list, so a scaler reading only `wait` would see zero. KEDA scales on this gauge.
  const analysisQueue = openQueue(QUEUES.analysis, { connection: deps.queueConnection, prefix: deps.queuePrefix });
  analysisQueue.on('error', (error) => logger.warn({ reason: errorMessage(error) }, 'analysis queue problem'));
  new prom.Gauge({
    name: 'cxr_queue_jobs',
    help: 'Jobs in the analysis queue by state (waiting includes prioritised jobs)',
    labelNames: ['queue', 'state'] as const,
    registers: [deps.metrics],
    async collect() {
      const counts = await analysisQueue.getJobCounts('wait', 'prioritized', 'delayed', 'active', 'failed').catch(() => undefined);
      if (!counts) return;
      this.set({ queue: QUEUE_NAMES.analysis, state: 'waiting' }, (counts.wait ?? 0) + (counts.prioritized ?? 0));
      this.set({ queue: QUEUE_NAMES.analysis, state: 'delayed' }, counts.delayed ?? 0);
      this.set({ queue: QUEUE_NAMES.analysis, state: 'active' }, counts.active ?? 0);
      this.set({ queue: QUEUE_NAMES.analysis, state: 'failed' }, counts.failed ?? 0);
    },
  });

  const inputsRead = new prom.Counter({
    name: 'cxr_worker_inputs_total', help: 'Images read for analysis, by stored form (presentation-png = fallback: old jobs, a removed input, or one with fewer pixels than the model takes)',
    labelNames: ['kind'] as const, registers: [deps.metrics],
  });
  const batchSize = new prom.Histogram({
    name: 'cxr_worker_batch_size', help: 'Images per model call (dynamic batching)',
    buckets: [1, 2, 4, 8, 16, 32], registers: [deps.metrics],
  });
  const batcher = new MicroBatcher<PresentationImage, ModelRun>({
    maxItems: deps.batch.maxImages,
    maxWaitMs: deps.batch.maxWaitMs,
    run: (images) => deps.models.analyse(images),
    onBatch: (size) => batchSize.observe(size),
  });

  /** The event carries this publish span's trace context: the report service continues the trace from it. */
  async function emit(event: ReportEvent): Promise<void> {
    await publishJob(events, QUEUES.reportEvents, event, { 'cxr.study_key': event.studyKey, 'cxr.version': event.version, 'cxr.event_type': event.type });
  }

  async function analyse(request: AnalysisRequest, job: Job) {
    const log = logger.child({ analysisId: request.analysisId, jobId: job.id, attempt: job.attemptsMade + 1 });
    const started = performance.now();
    try {
      const { result, resultKey, inputs } = await analyseStudy(request, {
        objects: deps.objects, derivedBucket: deps.derivedBucket, analyse: (images) => batcher.submit(images),
        modelInputSize: () => deps.models.model.manifest.input.size,
      });
      await emit({
        type: 'analysis-completed', studyKey: request.studyKey, version: request.version, analysisId: request.analysisId,
        resultKey, completedAt: result.completedAt, ...(request.studyCompletedAt ? { studyCompletedAt: request.studyCompletedAt } : {}),
      });
      for (const [stage, ms] of Object.entries(result.timingsMs)) stageSeconds.observe({ stage }, ms / 1000);
      for (const kind of inputs) inputsRead.inc({ kind });
      stageSeconds.observe({ stage: 'total' }, (performance.now() - started) / 1000);
      jobs.inc({ outcome: 'completed' });
      log.info({ images: result.images.length, ms: Math.round(performance.now() - started), model: `${result.model.id}@${result.model.version}`, provider: result.model.executionProvider }, 'analysis completed');
      return { resultKey };
    } catch (error) {
      if (!isPermanent(error)) {
        jobs.inc({ outcome: 'retried' });
        log.warn({ reason: errorMessage(error) }, 'analysis failed transiently; will retry');
        throw error;
      }
      jobs.inc({ outcome: 'failed' });
      log.warn({ reason: errorMessage(error) }, 'analysis failed permanently');
      await emit({
        type: 'analysis-failed', studyKey: request.studyKey, version: request.version, analysisId: request.analysisId,
        reason: errorMessage(error), failedAt: new Date().toISOString(),
      });
      throw error; // permanent: the worker fails the job without retrying
    }
  }

  const worker = createValidatedWorker<AnalysisRequest, { resultKey: string }>({
    queue: QUEUES.analysis,
    connection: deps.workerConnection,
    prefix: deps.queuePrefix,
    logger,
    settings: { concurrency: deps.concurrency, lockDuration: deps.lockDurationMs, stalledInterval: deps.stalledIntervalMs, maxStalledCount: 2 },
    spanAttributes: (request) => ({ 'cxr.study_key': request.studyKey, 'cxr.version': request.version, 'cxr.images': request.images.length }),
    onInvalid: () => jobs.inc({ outcome: 'invalid' }),
    handle: (request, { job }) => analyse(request, job),
  });

  return {
    worker,
    /** Stop taking jobs; wait for running ones up to `graceMs`, then hand them back. */
    async close(graceMs: number): Promise<void> {
      const graceful = worker.close();
      const timeout = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), graceMs).unref());
      if ((await Promise.race([graceful, timeout])) === 'timeout') {
        logger.warn({ graceMs }, 'running jobs did not finish within the grace period; handing them back');
        await worker.close(true);
      }
      await events.close();
      await analysisQueue.close();
    },
  };
}
