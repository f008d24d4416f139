/**
 * The producer side of sending reports to the PACS: queue an export, read back the latest one, and
 * (when `REPORT_PACS_SEND_ON_SIGN` is on) queue one whenever a report is signed.
 *
 * Choices, and why:
 * - One BullMQ job per study and revision (`pacsExportJobId`). Asking again while that job is
 *   queued or sending returns it (a double click queues once); while it is held for a retry it is
 *   moved forward to run now (someone who asks again usually knows the PACS is back); once it has
 *   been delivered or has failed, it is replaced by a fresh job (a deliberate resend: the objects
 *   keep their UIDs, so the PACS ends up with one copy).
 * - The latest export is found from the jobs themselves (one per revision up to the one shown),
 *   not from a pointer kept beside them: nothing to get out of step.
 * - Signed reports only unless the caller allows a draft: a PACS may legitimately store an
 *   UNVERIFIED/PARTIAL SR, but most sites want only what a radiologist signed in their archive.
 */
import type { Job, JobState, Queue } from 'bullmq';
import {
  pacsExportJobId,
  pacsExportJobSchema,
  pacsExportStatusResponseSchema,
  QUEUES,
  type Actor,
  type PacsDelivery,
  type PacsExportJob,
  type PacsExportState,
  type PacsExportStatusResponse,
  type ReportResponse,
} from '@cxr/contracts';
import { errorMessage, HttpError, publishJob, type Logger } from '@cxr/platform';
import type { ReportService, ReportView } from '../review/report-service.ts';
import { isExportable } from './report-content.ts';
import type { PacsExportMetrics } from './pacs-export-metrics.ts';

/** What the worker keeps in the job's progress between attempts. */
export interface PacsExportProgress {
  attempts: number;
  lastError: string | null;
  /** ISO time of the next attempt while held for a retry. */
  nextAttemptAt: string | null;
}

export function progressOf(job: { progress: unknown }): PacsExportProgress {
  const p = job.progress as Partial<PacsExportProgress> | number | string | boolean | undefined;
  if (p === null || typeof p !== 'object') return { attempts: 0, lastError: null, nextAttemptAt: null };
  return {
    attempts: typeof p.attempts === 'number' ? p.attempts : 0,
    lastError: typeof p.lastError === 'string' ? p.lastError : null,
    nextAttemptAt: typeof p.nextAttemptAt === 'string' ? p.nextAttemptAt : null,
  };
}

/** The export state a BullMQ job state stands for. */
export function exportStateOf(state: JobState | 'unknown', progress: PacsExportProgress): PacsExportState {
  switch (state) {
    case 'active':
      return 'sending';
    case 'delayed':
      return progress.attempts > 0 ? 'retrying' : 'queued';
    case 'completed':
      return 'delivered';
    case 'failed':
      return 'failed';
    default:
      return 'queued';
  }
}

/** What `exportStatusOf` reads of a BullMQ job. */
export interface ExportJobView {
  id?: string | undefined;
  data: PacsExportJob;
  progress: unknown;
  returnvalue: PacsDelivery | null | undefined;
  failedReason?: string | undefined;
  finishedOn?: number | undefined;
}

/** The GET body for a job in a state. */
export function exportStatusOf(studyInstanceUid: string, job: ExportJobView, state: JobState | 'unknown'): PacsExportStatusResponse {
  const progress = progressOf(job);
  const exportState = exportStateOf(state, progress);
  const finishedAt = job.finishedOn ? new Date(job.finishedOn).toISOString() : null;
  return pacsExportStatusResponseSchema.parse({
    studyInstanceUid,
    jobId: job.id,
    state: exportState,
    requestedRevision: job.data.revision,
    allowDraft: job.data.allowDraft,
    requestedBy: job.data.requestedBy,
    requestedAt: job.data.requestedAt,
    attempts: progress.attempts,
    nextAttemptAt: exportState === 'retrying' ? progress.nextAttemptAt : null,
    lastError: exportState === 'retrying' || exportState === 'sending' ? progress.lastError : null,
    deliveredAt: exportState === 'delivered' ? finishedAt : null,
    delivery: exportState === 'delivered' ? (job.returnvalue ?? null) : null,
    failedAt: exportState === 'failed' ? finishedAt : null,
    failureReason: exportState === 'failed' ? (job.failedReason ?? 'failed').slice(0, 2048) : null,
  });
}

export interface PacsExportQueueOptions {
  /** The `pacs-export` queue on the service's prefix (`openQueue(QUEUES.pacsExport, ...)`). */
  queue: Queue<PacsExportJob>;
  /** Queue an export (signed reports) whenever a report is signed. */
  sendOnSign: boolean;
  logger: Logger;
  metrics?: PacsExportMetrics;
  now?: () => Date;
}

export class PacsExportQueue {
  readonly sendOnSign: boolean;
  readonly metrics: PacsExportMetrics | undefined;
  private readonly queue: Queue<PacsExportJob>;
  private readonly logger: Logger;
  private readonly now: () => Date;

  constructor(options: PacsExportQueueOptions) {
    if (options.queue.name !== QUEUES.pacsExport.name) throw new Error(`the PACS export queue must be named ${QUEUES.pacsExport.name}`);
    this.queue = options.queue;
    this.sendOnSign = options.sendOnSign;
    this.metrics = options.metrics;
    this.logger = options.logger;
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Queues the export of the report shown in `view` (see the file note for what asking twice
   * does). HttpError 409 when the report has nothing to send, or is a draft and drafts are not allowed.
   */
  async request(view: ReportView, actor: Actor, allowDraft: boolean): Promise<{ jobId: string; state: PacsExportState }> {
    const { response: report, studyKey } = view;
    assertSendable(report, allowDraft);
    const jobId = pacsExportJobId(studyKey, report.revision);
    const existing = (await this.queue.getJob(jobId)) as Job<PacsExportJob, PacsDelivery> | undefined;
    if (existing) {
      const state = await existing.getState();
      if (state === 'delayed') {
        // Held for a retry: try now. It may have just started (then it is sending anyway).
        await existing.promote().catch(() => undefined);
        return { jobId, state: exportStateOf(await existing.getState(), progressOf(existing)) };
      }
      if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return { jobId, state: exportStateOf(state, progressOf(existing)) };
      // Delivered or failed before: a deliberate resend. Removing a job another request just re-added (and a worker locked) fails: keep that one.
      await existing.remove().catch(() => undefined);
    }
    const data: PacsExportJob = pacsExportJobSchema.parse({
      studyKey,
      studyInstanceUid: report.studyInstanceUid,
      revision: report.revision,
      allowDraft,
      requestedBy: actor,
      requestedAt: this.now().toISOString(),
    });
    const job = await publishJob(this.queue, QUEUES.pacsExport, data, { 'cxr.study_key': studyKey, 'cxr.revision': report.revision });
    this.metrics?.exports.inc({ outcome: 'queued' });
    this.logger.info({ studyKey, jobId, revision: report.revision, signed: report.signed }, 'PACS export queued');
    const state = await job.getState();
    return { jobId, state: exportStateOf(state, progressOf(job)) };
  }

  /** The most recently queued export of the study's report, or null when there is none (or it was removed). */
  async latest(view: ReportView): Promise<PacsExportStatusResponse | null> {
    const { response: report, studyKey } = view;
    const ids = Array.from({ length: report.revision }, (_, i) => pacsExportJobId(studyKey, i + 1));
    const jobs = (await Promise.all(ids.map((id) => this.queue.getJob(id)))).filter((job): job is Job<PacsExportJob, PacsDelivery> => !!job);
    if (jobs.length === 0) return null;
    const newest = jobs.reduce((a, b) => (b.timestamp > a.timestamp ? b : a));
    return exportStatusOf(report.studyInstanceUid, newest, await newest.getState());
  }
}

/** 409 unless the report has something the PACS should get. */
export function assertSendable(report: ReportResponse, allowDraft: boolean): void {
  if (!isExportable(report)) {
    throw new HttpError(409, 'nothing-to-export', `the report is ${report.status}: there is no draft or signed report to send to the PACS`);
  }
  if (!report.signed && !allowDraft) {
    throw new HttpError(409, 'report-not-signed', 'only signed reports are sent to the PACS; send {"allowDraft": true} to send the unsigned draft as a preliminary (UNVERIFIED) SR');
  }
}

/**
 * The review service with `signReport` also queuing the PACS export of the signed report. The
 * signature stands whatever happens to the queuing (it is final once written): a failure to queue
 * is logged and counted, and the export can be asked for by hand.
 */
export function withPacsExportOnSign(service: ReportService, exports: PacsExportQueue, logger: Logger): ReportService {
  return {
    ...service,
    async signReport(studyInstanceUid, ifMatch, request, actor) {
      const signed = await service.signReport(studyInstanceUid, ifMatch, request, actor);
      try {
        await exports.request(await service.loadReportView(studyInstanceUid), actor, false);
      } catch (error) {
        exports.metrics?.exports.inc({ outcome: 'not-queued' });
        logger.error({ err: errorMessage(error), revision: signed.revision }, 'queuing the PACS export of a signed report failed; it can be sent by hand');
      }
      return signed;
    },
  };
}
