/**
 * The one way a service takes jobs off a queue. For each job it:
 * - parses the data with the queue's schema (@cxr/contracts `QUEUES`): a job that does not match
 *   can never succeed, so it fails at once (`UnrecoverableError`) with the paths and messages of
 *   what is wrong (never the values: they may hold identifiers);
 * - runs the handler in a CONSUMER span continued from the producer's trace context in the job;
 * - turns a permanent error (`isPermanent`: bad input, a refusal) into `UnrecoverableError`, so
 *   BullMQ does not retry it; transient ones are thrown as they are and retried with the job's
 *   `attempts`/`backoff`. BullMQ's own control errors (`DelayedError`, `UnrecoverableError`, ...)
 *   pass through unchanged.
 */
import { UnrecoverableError, Worker, type Job, type WorkerOptions } from 'bullmq';
import type { QueueDefinition, TracedJobData } from '@cxr/contracts';
import type { Attributes, Span } from '@opentelemetry/api';
import type { z } from 'zod';
import { errorMessage, isPermanent } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Redis } from './redis.ts';
import { runJobInSpan } from './tracing.ts';

export interface JobContext<Result> {
  job: Job<unknown, Result>;
  /** The job's lock token (for `moveToDelayed` and the like). */
  token: string | undefined;
  /** The job's span (add outcome attributes to it). */
  span: Span;
}

export interface ValidatedWorkerOptions<Data extends TracedJobData, Result> {
  queue: QueueDefinition<Data>;
  /** From `createWorkerConnection`: BullMQ needs `maxRetriesPerRequest: null`. */
  connection: Redis;
  prefix: string;
  logger: Logger;
  /** BullMQ worker settings (concurrency, lock and stall handling, ...). */
  settings?: Omit<WorkerOptions, 'connection' | 'prefix'>;
  /** The span's attributes for a valid job (pseudonymous keys and counts only). `messaging.message.attempt` defaults to BullMQ's attempt. */
  spanAttributes?: (data: Data, job: Job<unknown, Result>) => Attributes;
  /** Called with what is wrong with a job that does not match the schema (metrics), before it fails. */
  onInvalid?: (job: Job<unknown, Result>, problems: string[]) => void;
  handle: (data: Data, context: JobContext<Result>) => Promise<Result>;
}

/** Paths and messages of a schema's complaints, at most five (no values). */
export function schemaProblems(error: z.ZodError): string[] {
  return error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

/** A permanent error as BullMQ's "do not retry"; anything else as it is. */
export function asUnrecoverable(error: unknown): unknown {
  if (error instanceof UnrecoverableError || !isPermanent(error)) return error;
  return new UnrecoverableError(errorMessage(error));
}

export function createValidatedWorker<Data extends TracedJobData, Result>(options: ValidatedWorkerOptions<Data, Result>): Worker<unknown, Result> {
  const { queue, logger } = options;
  const worker = new Worker<unknown, Result>(
    queue.name,
    async (job, token) => {
      const parsed = queue.schema.safeParse(job.data);
      if (!parsed.success) {
        const problems = schemaProblems(parsed.error);
        logger.warn({ queue: queue.name, jobId: job.id, problems }, `invalid ${queue.description}`);
        options.onInvalid?.(job, problems);
        throw new UnrecoverableError(`invalid ${queue.description}: ${problems.join('; ')}`);
      }
      const data = parsed.data;
      const attributes = { 'messaging.message.attempt': job.attemptsMade + 1, ...options.spanAttributes?.(data, job) };
      return runJobInSpan(queue.name, data.trace, attributes, async (span) => {
        try {
          return await options.handle(data, { job, token, span });
        } catch (error) {
          throw asUnrecoverable(error);
        }
      });
    },
    { ...options.settings, connection: options.connection, prefix: options.prefix },
  );
  worker.on('error', (error) => logger.warn({ queue: queue.name, reason: errorMessage(error) }, 'queue worker problem'));
  return worker;
}
