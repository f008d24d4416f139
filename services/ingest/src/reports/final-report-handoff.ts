import type { Queue } from 'bullmq';
import { accessionNumberSchema, FINAL_REPORT_MAX_CHARS, QUEUES, type FinalReportJob } from '@cxr/contracts';
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

  /** Queues the SR's text for the second read; throws (transient) when the queue cannot take it. */
  async submit(instance: ParsedInstance): Promise<SrHandoffOutcome> {
    const sr = readSrReportText(instance);
    if (sr.verification !== 'VERIFIED') return 'unverified';
    const text = sr.text.slice(0, FINAL_REPORT_MAX_CHARS).trim();
    if (text === '') return 'no-text';
    const accession = accessionNumberSchema.safeParse(instance.accessionNumber ?? '');
    const job: FinalReportJob = {
      source: 'dicom-sr',
      sourceId: instance.sopInstanceUid,
      studyInstanceUid: instance.studyInstanceUid,
      ...(accession.success ? { accessionNumber: accession.data } : {}),
      text,
    };
    await publishJob(this.deps.queue, QUEUES.finalReports, job, { 'cxr.final_report_source': 'dicom-sr' });
    return 'queued';
  }
}
