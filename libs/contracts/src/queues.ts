/**
 * Every BullMQ queue, defined once: its name, the schema of its job data, the job options its
 * producers add jobs with, and the job's id (derived from what the job is about, so adding the same
 * job twice adds it once). Producers add with `addJob`/`publishJob` and consumers take jobs with
 * `createValidatedWorker` (both in @cxr/platform), so neither side restates any of this.
 *
 * Kept free of BullMQ: the options are plain data in BullMQ's shape, so this package stays a
 * schema package that any client can read.
 */
import type { z } from 'zod';
import { QUEUE_PRIORITY, type traceContextSchema } from './common.ts';
import { analysisRequestSchema, type AnalysisRequest } from './analysis-request.ts';
import { pacsExportJobId, pacsExportJobSchema, type PacsExportJob } from './pacs-export.ts';
import { reportEventJobId, reportEventSchema, type ReportEvent } from './report-events.ts';
import { finalReportJobSchema, type FinalReportJob } from './second-read.ts';
import { studyCompletionJobSchema, type StudyCompletionJob } from './study-completion.ts';

/** Queue names shared by producers and consumers. The BullMQ key prefix is configuration. */
export const QUEUE_NAMES = Object.freeze({
  /** ingest → ingest: a study's instances have all arrived (association end or stable age). */
  studyCompletion: 'study-completion',
  /** ingest → inference-worker: analyse one version of a study. */
  analysis: 'analysis',
  /** ingest, inference-worker → report: what happened to a study. */
  reportEvents: 'report-events',
  /** report → report: send a report (SR + overlay Secondary Captures) to the PACS over STOW-RS. */
  pacsExport: 'pacs-export',
  /** ingest → report: the text of a signed DICOM text SR, for the second read. */
  finalReports: 'final-reports',
});
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/** How long BullMQ keeps finished jobs (seconds / how many). */
export type JobRetention = { age: number; count?: number } | { count: number };

/** Job options as BullMQ reads them (`attempts`, `backoff`, `removeOnComplete`, `removeOnFail`). */
export interface QueueJobOptions {
  attempts: number;
  backoff?: { type: 'exponential' | 'fixed'; delay: number };
  removeOnComplete: JobRetention;
  removeOnFail: JobRetention;
}

/** Job data that can carry the producer's trace context (the consumer continues the trace). */
export type TracedJobData = { trace?: z.infer<typeof traceContextSchema> | undefined };

export interface QueueDefinition<Data extends TracedJobData = TracedJobData> {
  readonly name: QueueName;
  /** What one job is, in words: an invalid one fails with "invalid {description}: ...". */
  readonly description: string;
  /** The job's schema: consumers parse every job with it before they act. */
  readonly schema: z.ZodType<Data, unknown>;
  /** The BullMQ job name (shown in dashboards; no identifiers). */
  jobName(data: Data): string;
  /** The job's identity, derived from what it is about. */
  jobId(data: Data): string;
  /**
   * When set, `jobId` is BullMQ's deduplication id rather than the job id: the job must run again
   * for the same subject later (a study completed again after more instances), which a kept job
   * with the same id would stop.
   */
  readonly deduplication?: { readonly keepLastIfActive: boolean; readonly reschedule: boolean };
  /** BullMQ priority (lower runs first), when the queue has priorities. */
  priority?(data: Data): number;
  readonly jobOptions: Readonly<QueueJobOptions>;
}

function defineQueue<Data extends TracedJobData>(definition: QueueDefinition<Data>): QueueDefinition<Data> {
  return Object.freeze(definition);
}

/**
 * Study completion (ingest → ingest). One pending job per study: a new instance reschedules it,
 * and an instance arriving while the study is processed queues exactly one follow-up run.
 */
const studyCompletionQueue = defineQueue<StudyCompletionJob>({
  name: QUEUE_NAMES.studyCompletion,
  description: 'study-completion job',
  schema: studyCompletionJobSchema,
  jobName: () => 'complete-study',
  jobId: (job) => `study.${job.studyInstanceUid}`,
  deduplication: { keepLastIfActive: true, reschedule: true },
  jobOptions: {
    attempts: 8,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  },
});

/** Analysis (ingest → inference-worker). The job id is `analysisId`, so each study version is queued once. */
const analysisQueue = defineQueue<AnalysisRequest>({
  name: QUEUE_NAMES.analysis,
  description: 'analysis request',
  schema: analysisRequestSchema,
  jobName: () => 'analyse',
  jobId: (request) => request.analysisId,
  priority: (request) => QUEUE_PRIORITY[request.priority],
  jobOptions: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 2000 },
    removeOnComplete: { age: 24 * 3600, count: 50_000 },
    removeOnFail: { age: 14 * 24 * 3600 },
  },
});

/**
 * Report events (ingest, inference-worker → report): retried with backoff until the report service
 * has them, kept a while after completion so a redelivered producer's add (same job id) is a no-op.
 */
const reportEventsQueue = defineQueue<ReportEvent>({
  name: QUEUE_NAMES.reportEvents,
  description: 'report event',
  schema: reportEventSchema,
  jobName: (event) => event.type,
  jobId: reportEventJobId,
  jobOptions: {
    attempts: 10,
    backoff: { type: 'exponential', delay: 1000 },
    removeOnComplete: { age: 24 * 3600, count: 50_000 },
    removeOnFail: { age: 14 * 24 * 3600 },
  },
});

/**
 * PACS export (report → report). Retries are the worker's own (hold-and-resend with a capped
 * backoff until the hold time is over), so BullMQ's `attempts` stays 1. Kept a while after the end
 * so the state can be read back.
 */
const pacsExportQueue = defineQueue<PacsExportJob>({
  name: QUEUE_NAMES.pacsExport,
  description: 'PACS export job',
  schema: pacsExportJobSchema,
  jobName: () => 'export',
  jobId: (job) => pacsExportJobId(job.studyKey, job.revision),
  jobOptions: {
    attempts: 1,
    removeOnComplete: { age: 30 * 24 * 3600 },
    removeOnFail: { age: 90 * 24 * 3600 },
  },
});

/**
 * Final reports (ingest → report): a verified DICOM text SR to compare with the AI. Retried with backoff for hours:
 * an SR may arrive before its study's images have been analysed (the report service answers
 * "not yet" as a transient error). One job per SR (its SOP Instance UID).
 */
const finalReportsQueue = defineQueue<FinalReportJob>({
  name: QUEUE_NAMES.finalReports,
  description: 'final report',
  schema: finalReportJobSchema,
  jobName: () => 'compare',
  jobId: (job) => `${job.source}.${job.sopInstanceUid}`,
  jobOptions: {
    attempts: 12,
    backoff: { type: 'exponential', delay: 5000 },
    removeOnComplete: { age: 24 * 3600, count: 50_000 },
    removeOnFail: { age: 14 * 24 * 3600 },
  },
});

/** Every queue, by its key in QUEUE_NAMES. */
export const QUEUES = Object.freeze({
  studyCompletion: studyCompletionQueue,
  analysis: analysisQueue,
  reportEvents: reportEventsQueue,
  pacsExport: pacsExportQueue,
  finalReports: finalReportsQueue,
});
