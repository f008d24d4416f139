/**
 * The `analysis` queue (ingest → inference-worker): the worker that analyses one version of a
 * study and tells the report service how it went on `report-events`. Name, schema, options and
 * job id are `QUEUES.analysis` in @cxr/contracts; ingest adds the jobs.
 */
import type { Job } from 'bullmq';
import { objectKeys, QUEUES, type AnalysisRequest, type AnalysisResult, type ReportEvent } from '@cxr/contracts';
import { createValidatedWorker, errorMessage, isPermanent, openQueue, publishJob, type Logger, type ObjectStore, type Redis } from '@cxr/platform';
import type { Registry } from 'prom-client';
import { analyseStudy } from '../analysis/analyse-study.ts';
import { MicroBatcher } from '../analysis/micro-batcher.ts';
import type { PresentationImage } from '@cxr/inference';
import { createAnalysisMetrics } from '../metrics.ts';
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
  /** `inFlight`: full batches handed to the model at once (default 1; see MicroBatcher's maxRunning). */
  batch: { maxImages: number; maxWaitMs: number; inFlight?: number };
  lockDurationMs: number;
  stalledIntervalMs: number;
  logger: Logger;
  metrics: Registry;
  /**
   * Shadow mode (WORKER_SHADOW_MODEL): a candidate version run on every study after the active
   * one. Its result is stored apart (`objectKeys.shadowResult`) and announced as
   * `shadow-analysis-completed`, which the report service only compares; a shadow failure is
   * logged and counted and never fails the job.
   */
  shadow?: { models: ModelSlot };
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

  const analysisQueue = openQueue(QUEUES.analysis, { connection: deps.queueConnection, prefix: deps.queuePrefix });
  analysisQueue.on('error', (error) => logger.warn({ reason: errorMessage(error) }, 'analysis queue problem'));
  const { jobs, stageSeconds, inputsRead, imagesByScope, batchSize, shadowJobs } = createAnalysisMetrics(deps.metrics, analysisQueue);
  const batcher = new MicroBatcher<PresentationImage, ModelRun>({
    maxItems: deps.batch.maxImages,
    maxWaitMs: deps.batch.maxWaitMs,
    maxRunning: deps.batch.inFlight ?? 1,
    run: (images) => deps.models.analyse(images),
    onBatch: (size) => batchSize.observe(size),
  });

  const shadowBatcher = deps.shadow
    ? new MicroBatcher<PresentationImage, ModelRun>({ maxItems: deps.batch.maxImages, maxWaitMs: deps.batch.maxWaitMs, maxRunning: deps.batch.inFlight ?? 1, run: (images) => deps.shadow!.models.analyse(images) })
    : undefined;

  /** The shadow version on the same study version: stored apart, announced for comparison only. */
  async function shadowAnalyse(request: AnalysisRequest, active: { result: AnalysisResult; resultKey: string }, log: Logger): Promise<void> {
    const shadowModel = deps.shadow!.models.model;
    const name = `${shadowModel.manifest.id}@${shadowModel.manifest.version}`;
    if (name === `${active.result.model.id}@${active.result.model.version}`) return shadowJobs.inc({ outcome: 'same-as-active' });
    try {
      const { result, resultKey } = await analyseStudy(request, {
        objects: deps.objects, derivedBucket: deps.derivedBucket, analyse: (images) => shadowBatcher!.submit(images),
        modelInputSize: () => shadowModel.manifest.input.size,
        resultKeyOf: (model) => objectKeys.shadowResult(request.studyKey, request.version, `${model.manifest.id}@${model.manifest.version}`),
      });
      await emit({
        type: 'shadow-analysis-completed', studyKey: request.studyKey, version: request.version, analysisId: request.analysisId,
        model: `${result.model.id}@${result.model.version}`, resultKey, activeResultKey: active.resultKey, completedAt: result.completedAt,
      });
      shadowJobs.inc({ outcome: 'completed' });
    } catch (error) {
      shadowJobs.inc({ outcome: 'failed' });
      log.warn({ shadow: name, reason: errorMessage(error) }, 'shadow analysis failed; the active result stands');
    }
  }

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
      const model = `${result.model.id}@${result.model.version}`;
      for (const image of result.images) imagesByScope.inc({ outcome: image.scope?.inScope === false ? image.scope.check : 'in-scope', model });
      stageSeconds.observe({ stage: 'total' }, (performance.now() - started) / 1000);
      if (deps.shadow) await shadowAnalyse(request, { result, resultKey }, log);
      jobs.inc({ outcome: 'completed' });
      log.info({ images: result.images.length, outOfScope: result.images.filter((i) => i.scope?.inScope === false).length, ms: Math.round(performance.now() - started), model: `${result.model.id}@${result.model.version}`, provider: result.model.executionProvider }, 'analysis completed');
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
