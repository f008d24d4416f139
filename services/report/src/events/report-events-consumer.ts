import { UnrecoverableError, Worker } from 'bullmq';
import { QUEUE_NAMES, reportEventSchema, type ReportEvent } from '@cxr/contracts';
import { errorMessage, isPermanent, type Logger, type ObjectStore, type Redis } from '@cxr/platform';
import type { ReportConfig } from '../config.ts';
import type { ReportMetrics } from '../metrics.ts';
import type { ReportStore } from '../state/report-store.ts';
import { ReportEventHandler, type EventOutcome } from './report-event-handler.ts';

/**
 * The BullMQ worker on `report-events`. Validates each job against the contract (an invalid
 * one can never succeed: UnrecoverableError), hands it to ReportEventHandler, and turns
 * permanent errors into UnrecoverableError so BullMQ does not retry them. Transient errors
 * (storage, Redis, a busy study lock) are thrown as they are and retried with the job's
 * `attempts`/`backoff`, which producers set.
 */

export interface ReportEventsConsumerDeps {
  config: Pick<ReportConfig, 'queuePrefix' | 'eventsConcurrency' | 'buckets'>;
  logger: Logger;
  /** From `createWorkerConnection`: BullMQ needs `maxRetriesPerRequest: null`. */
  connection: Redis;
  objects: ObjectStore;
  /** A ReportStore on a worker connection. */
  reports: ReportStore;
  metrics: ReportMetrics;
  now?: () => Date;
}

export interface ReportEventResult {
  outcome: EventOutcome;
}

export function startReportEventsConsumer(deps: ReportEventsConsumerDeps): Worker<unknown, ReportEventResult> {
  const { config, logger, metrics } = deps;
  const handler = new ReportEventHandler({
    objects: deps.objects,
    reports: deps.reports,
    derivedBucket: config.buckets.derived,
    reportsBucket: config.buckets.reports,
    logger,
    metrics,
    ...(deps.now ? { now: deps.now } : {}),
  });

  const worker = new Worker<unknown, ReportEventResult>(
    QUEUE_NAMES.reportEvents,
    async (job) => {
      const parsed = reportEventSchema.safeParse(job.data);
      if (!parsed.success) {
        metrics.eventsProcessed.inc({ type: eventTypeOf(job.data), outcome: 'invalid' });
        // Paths and messages only: the values may hold identifiers.
        const problems = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
        logger.warn({ jobId: job.id, problems }, 'invalid report event');
        throw new UnrecoverableError(`invalid report event: ${problems.join('; ')}`);
      }
      const event = parsed.data;
      const log = logger.child({ jobId: job.id, type: event.type, studyKey: event.studyKey, version: event.version });
      let outcome: EventOutcome;
      try {
        outcome = await handler.handle(event);
      } catch (error) {
        const permanent = isPermanent(error);
        metrics.eventsProcessed.inc({ type: event.type, outcome: permanent ? 'rejected' : 'error' });
        log.warn({ err: errorMessage(error), permanent, attempt: job.attemptsMade + 1 }, 'report event failed');
        if (permanent) throw new UnrecoverableError(errorMessage(error));
        throw error;
      }
      metrics.eventsProcessed.inc({ type: event.type, outcome });
      log.info({ outcome }, 'report event processed');
      return { outcome };
    },
    {
      connection: deps.connection,
      prefix: config.queuePrefix,
      concurrency: config.eventsConcurrency,
      removeOnComplete: { count: 1000 },
      removeOnFail: { count: 5000 },
    },
  );
  worker.on('error', (error) => logger.error({ err: errorMessage(error) }, 'report events worker error'));
  return worker;
}

function eventTypeOf(data: unknown): ReportEvent['type'] | 'unknown' {
  const type = (data as { type?: unknown } | null)?.type;
  return type === 'study-received' || type === 'analysis-completed' || type === 'analysis-failed' ? type : 'unknown';
}
