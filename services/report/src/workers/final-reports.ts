import type { Worker } from 'bullmq';
import { accessionNumberSchema, FINAL_REPORT_MAX_CHARS, QUEUES, type Actor, type FinalReportJob, type FinalReportResult, type FinalReportSubmission } from '@cxr/contracts';
import { parseInstance, readSrReportText } from '@cxr/dicom';
import { createValidatedWorker, errorMessage, HttpError, ObjectNotFoundError, PermanentError, TransientError, type Logger, type ObjectStore, type Redis } from '@cxr/platform';
import type { SecondReadService } from '../second-read/second-read-service.ts';

/**
 * The `final-reports` queue (ingest → report): a signed DICOM text SR stored by ingest, read here
 * from the originals bucket (the job names the object: no report text or accession number in
 * Redis) and compared with the AI like any final report (source `dicom-sr`). A study not known yet, or not analysed yet, is
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
  objects: ObjectStore;
  /** Where ingest keeps what it received. */
  originalsBucket: string;
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
      const submission = await submissionOf(job, deps);
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

/** The SR's report text and study, read from the stored object; a missing or unreadable object fails for good. */
async function submissionOf(job: FinalReportJob, deps: Pick<FinalReportsWorkerDeps, 'objects' | 'originalsBucket'>): Promise<FinalReportSubmission> {
  let bytes: Buffer;
  try {
    bytes = await deps.objects.get(deps.originalsBucket, job.objectKey);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new FinalReportRefusedError('the SR named by the job is not in the originals bucket', { cause: error });
    throw error; // storage down: retried
  }
  let instance;
  try {
    instance = parseInstance(bytes, { maxBytes: 64 * 1024 * 1024 });
  } catch (error) {
    throw new FinalReportRefusedError(`the stored SR cannot be read: ${errorMessage(error)}`, { cause: error });
  }
  if (instance.sopInstanceUid !== job.sopInstanceUid || instance.studyInstanceUid !== job.studyInstanceUid) {
    throw new FinalReportRefusedError('the stored object is not the SR the job names');
  }
  const sr = readSrReportText(instance);
  if (sr.verification !== 'VERIFIED') throw new FinalReportRefusedError('the SR is not verified (signed)');
  const text = sr.text.slice(0, FINAL_REPORT_MAX_CHARS).trim();
  if (text === '') throw new FinalReportRefusedError('the SR has no report text');
  const accession = accessionNumberSchema.safeParse(instance.accessionNumber ?? '');
  return {
    source: 'dicom-sr',
    sourceId: instance.sopInstanceUid,
    studyInstanceUid: instance.studyInstanceUid,
    ...(accession.success ? { accessionNumber: accession.data } : {}),
    text,
  };
}

export class FinalReportRefusedError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FinalReportRefusedError';
  }
}
