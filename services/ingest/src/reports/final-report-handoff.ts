import type { Queue } from 'bullmq';
import { QUEUES, type FinalReportJob } from '@cxr/contracts';
import { isTextSr, readSrReportText, type ParsedInstance } from '@cxr/dicom';
import { publishJob, type Logger } from '@cxr/platform';

/**
 * A radiologist's report that arrives as a DICOM text SR (Basic Text SR, Enhanced SR) is not an
 * image to analyse: it goes to the report service's second read (queue `final-reports`), which
 * compares it with the AI's findings for its study. Only a verified SR (Verification Flag
 * VERIFIED: signed) with report text is handed over; the instance is stored as received either way,
 * and one not handed over is recorded as an instance of its study like any other non-image object.
 */

export type SrHandoffOutcome = 'queued' | 'unverified' | 'no-text';

export class FinalReportHandoff {
  constructor(
    private readonly deps: { queue: Queue<FinalReportJob>; logger: Logger },
  ) {}

  /** Whether ingest routes this SOP class here rather than to analysis. */
  handles(sopClassUid: string): boolean {
    return isTextSr(sopClassUid);
  }

  /**
   * Queues a stored SR (`objectKey` in the originals bucket) for the second read when it is verified
   * and has text; throws (transient) when the queue cannot take it. The job names the object, so
   * neither the text nor the accession number goes into Redis.
   */
  async submit(instance: ParsedInstance, objectKey: string): Promise<SrHandoffOutcome> {
    const sr = readSrReportText(instance);
    if (sr.verification !== 'VERIFIED') return 'unverified';
    if (sr.text.trim() === '') return 'no-text';
    const job: FinalReportJob = { source: 'dicom-sr', studyInstanceUid: instance.studyInstanceUid, sopInstanceUid: instance.sopInstanceUid, objectKey };
    await publishJob(this.deps.queue, QUEUES.finalReports, job, { 'cxr.final_report_source': 'dicom-sr' });
    return 'queued';
  }
}
