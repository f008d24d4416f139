import type { Worker } from 'bullmq';
import { QUEUES, type Actor, type FinalReportJob, type FinalReportResult } from '@cxr/contracts';
import { createValidatedWorker, HttpError, PermanentError, TransientError, type Logger, type Redis } from '@cxr/platform';
import type { SecondReadService } from '../second-read/second-read-service.ts';

/**
 * The `final-reports` queue (ingest → report): the text of a signed DICOM text SR, compared with
 * the AI like any final report (source `dicom-sr`). A study not known yet, or not analysed yet, is
 * a transient failure: the job is retried with the queue's backoff (an SR can arrive before its
 * images are analysed). A report that can never be compared (no AI findings, unreadable text, a
 * UID and accession number of two different studies) fails for good.
 */

export const SR_ACTOR: Actor = Object.freeze({ sub: 'system:ingest-sr', name: 'DICOM SR received by ingest', role: 'system' });

export interface FinalReportsWorkerDeps {
  config: { queuePrefix: string };
  logger: Logger;
  connection: Redis;
  /** A SecondReadService on a worker connection. */
  secondRead: SecondReadService;
}

export function startFinalReportsWorker(deps: FinalReportsWorkerDeps): Worker<unknown, FinalReportResult> {
  return createValidatedWorker<FinalReportJob, FinalReportResult>({
    queue: QUEUES.finalReports,
    connection: deps.connection,
    prefix: deps.config.queuePrefix,
    logger: deps.logger,
    settings: { concurrency: 2, removeOnComplete: { count: 1000 }, removeOnFail: { count: 5000 } },
    spanAttributes: (job) => ({ 'cxr.final_report_source': job.source }),
    async handle(job) {
      const { trace: _trace, ...submission } = job;
      try {
        return await deps.secondRead.takeIn(submission, SR_ACTOR);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        // 404: the study has not arrived yet; 503: its analysis is still running.
        if (error.status === 404 || error.status >= 500) throw new TransientError(error.message, { cause: error });
        throw new FinalReportRefusedError(error.message, { cause: error });
      }
    },
  });
}

export class FinalReportRefusedError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FinalReportRefusedError';
  }
}
