/**
 * Producing jobs from a queue definition (`QUEUES` in @cxr/contracts): the queue is opened by the
 * definition's name, and each job gets the definition's options, id (or deduplication id) and
 * priority, so no producer restates them.
 */
import { Queue, type Job, type JobsOptions } from 'bullmq';
import type { QueueDefinition, TracedJobData } from '@cxr/contracts';
import type { Attributes } from '@opentelemetry/api';
import type { Redis } from './redis.ts';
import { publishInSpan } from './tracing.ts';

export interface QueueConnection {
  connection: Redis;
  /** BullMQ key prefix (configuration: `QUEUE_PREFIX`). */
  prefix: string;
}

/** A producer's handle on a queue; close it at shutdown. */
export function openQueue<Data extends TracedJobData>(definition: QueueDefinition<Data>, options: QueueConnection): Queue<Data> {
  return new Queue<Data>(definition.name, { connection: options.connection, prefix: options.prefix });
}

/** What a caller may add to the definition's options for one job. */
export interface AddJobOptions {
  /** Milliseconds before the job may run (with deduplication, each reschedule restarts it). */
  delay?: number;
}

/** The BullMQ options of one job: the definition's, its id (or deduplication id) and priority. */
export function jobOptionsFor<Data extends TracedJobData>(definition: QueueDefinition<Data>, data: Data, extra: AddJobOptions = {}): JobsOptions {
  const id = definition.jobId(data);
  return {
    ...definition.jobOptions,
    ...(definition.deduplication ? { deduplication: { id, ...definition.deduplication } } : { jobId: id }),
    ...(definition.priority ? { priority: definition.priority(data) } : {}),
    ...(extra.delay !== undefined ? { delay: extra.delay } : {}),
  };
}

/** Adds `data` as its definition says (idempotent: the same job is added once). */
export function addJob<Data extends TracedJobData>(queue: Queue<Data>, definition: QueueDefinition<Data>, data: NoInfer<Data>, extra?: AddJobOptions): Promise<Job<Data>> {
  if (queue.name !== definition.name) throw new Error(`queue ${queue.name} is not the ${definition.name} queue`);
  // BullMQ's name parameter is a computed type over the queue's data type; the name is a plain string here.
  const add = queue.add.bind(queue) as unknown as (name: string, data: Data, opts: JobsOptions) => Promise<Job<Data>>;
  return add(definition.jobName(data), data, jobOptionsFor(definition, data, extra));
}

/**
 * Adds `data` in a PRODUCER span (`publish {queue}`), with that span's trace context in the job,
 * so the consumer's span is its child. `attributes`: pseudonymous keys and counts only.
 */
export function publishJob<Data extends TracedJobData>(
  queue: Queue<Data>,
  definition: QueueDefinition<Data>,
  data: NoInfer<Data>,
  attributes: Attributes,
  extra?: AddJobOptions,
): Promise<Job<Data>> {
  return publishInSpan(definition.name, attributes, (trace) => addJob(queue, definition, trace ? { ...data, trace } : data, extra));
}
