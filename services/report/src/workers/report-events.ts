import type { Worker } from 'bullmq';
import { QUEUES, type ReportEvent } from '@cxr/contracts';
import { createValidatedWorker, errorMessage, isPermanent, type Logger, type ObjectStore, type Redis } from '@cxr/platform';
import type { ReportConfig } from '../config.ts';
import type { ReportMetrics } from '../metrics.ts';
import type { ModelMonitor } from '../monitoring/model-monitor.ts';
import type { ReportStore } from '../state/report-store.ts';
import { ReportEventHandler, type EventOutcome } from '../events/report-event-handler.ts';

/**
 * The `report-events` queue (ingest, inference-worker → report): the worker that hands each event
 * to ReportEventHandler. Name, schema, options and job id are `QUEUES.reportEvents` in
 * @cxr/contracts. `createValidatedWorker` fails an invalid event at once and turns permanent
 * errors into UnrecoverableError so BullMQ does not retry them; transient errors (storage, Redis,
 * a busy study lock) are retried with the job's `attempts`/`backoff`, which producers set.
 *
 * Each event is handled in a span continued from the trace context its producer put in it, so a
 * study's trace runs from ingest through the worker to its draft here. When an analysis-completed
 * event makes a draft available, the time since ingest held the study complete is observed as
 * `cxr_report_e2e_latency_seconds`.
 */

export interface ReportEventsConsumerDeps {
  config: Pick<ReportConfig, 'queuePrefix' | 'eventsConcurrency' | 'buckets'> & Partial<Pick<ReportConfig, 'priorWaitMs'>>;
  logger: Logger;
  /** From `createWorkerConnection`: BullMQ needs `maxRetriesPerRequest: null`. */
  connection: Redis;
  objects: ObjectStore;
  /** A ReportStore on a worker connection. */
  reports: ReportStore;
  metrics: ReportMetrics;
  /** Model monitoring: drafts and arrivals are counted per model version. */
  monitor?: ModelMonitor;
  now?: () => Date;
}

export interface ReportEventResult {
  outcome: EventOutcome;
}

export function startReportEventsConsumer(deps: ReportEventsConsumerDeps): Worker<unknown, ReportEventResult> {
  const { config, logger, metrics } = deps;
  const now = deps.now ?? (() => new Date());
  const handler = new ReportEventHandler({
    objects: deps.objects,
    reports: deps.reports,
    derivedBucket: config.buckets.derived,
    reportsBucket: config.buckets.reports,
    logger,
    metrics,
    ...(config.priorWaitMs !== undefined ? { priorWaitMs: config.priorWaitMs } : {}),
    ...(deps.monitor ? { monitor: deps.monitor } : {}),
    ...(deps.now ? { now: deps.now } : {}),
  });

  return createValidatedWorker<ReportEvent, ReportEventResult>({
    queue: QUEUES.reportEvents,
    connection: deps.connection,
    prefix: config.queuePrefix,
    logger,
    settings: { concurrency: config.eventsConcurrency, removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
    spanAttributes: (event) => ({ 'cxr.event_type': event.type, 'cxr.study_key': event.studyKey, 'cxr.version': event.version }),
    onInvalid: (job) => metrics.eventsProcessed.inc({ type: eventTypeOf(job.data), outcome: 'invalid' }),
    async handle(event, { job, span }) {
      const log = logger.child({ jobId: job.id, type: event.type, studyKey: event.studyKey, version: event.version });
      let outcome: EventOutcome;
      try {
        outcome = await handler.handle(event);
      } catch (error) {
        const permanent = isPermanent(error);
        metrics.eventsProcessed.inc({ type: event.type, outcome: permanent ? 'rejected' : 'error' });
        log.warn({ err: errorMessage(error), permanent, attempt: job.attemptsMade + 1 }, 'report event failed');
        throw error;
      }
      span.setAttribute('cxr.outcome', outcome);
      metrics.eventsProcessed.inc({ type: event.type, outcome });
      const latency = draftLatencySeconds(event, outcome, now());
      if (latency !== undefined) metrics.e2eLatency.observe(latency);
      log.info({ outcome, ...(latency !== undefined ? { e2eLatencyMs: Math.round(latency * 1000) } : {}) }, 'report event processed');
      return { outcome };
    },
  });
}

/**
 * Seconds from ingest holding the study complete to its draft, when this event made a draft
 * available: an analysis-completed event that was applied (not a duplicate or stale one) and says
 * when the study was complete. A negative span (clocks of different hosts) is not a latency.
 */
export function draftLatencySeconds(event: ReportEvent, outcome: EventOutcome, at: Date): number | undefined {
  if (event.type !== 'analysis-completed' || outcome !== 'applied' || !event.studyCompletedAt) return undefined;
  const seconds = (at.getTime() - Date.parse(event.studyCompletedAt)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

function eventTypeOf(data: unknown): ReportEvent['type'] | 'unknown' {
  const type = (data as { type?: unknown } | null)?.type;
  return type === 'study-received' || type === 'analysis-completed' || type === 'analysis-failed' || type === 'shadow-analysis-completed' ? type : 'unknown';
}
