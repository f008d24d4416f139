import { errorMessage, type Logger } from '@cxr/platform';
import type { ReportService } from '../review/report-service.ts';
import type { ReportStore } from '../state/report-store.ts';
import type { ModelMonitor } from './model-monitor.ts';

/**
 * Counts each signed report for model monitoring: the radiologist's accept/reject decisions on the
 * AI's positive findings, and the findings the signed text adds (ModelMonitor.recordSigned). A
 * failure to count is logged and never fails the signature (the report is signed and stored by
 * then); that report's review is then missing from the counts.
 */
export function withReviewMonitoring(service: ReportService, reports: ReportStore, monitor: ModelMonitor, logger: Logger): ReportService {
  return {
    ...service,
    async signReport(studyInstanceUid, ifMatch, request, actor) {
      const signed = await service.signReport(studyInstanceUid, ifMatch, request, actor);
      try {
        const entry = await reports.lookup(studyInstanceUid);
        const state = entry ? await reports.readState(entry.studyKey) : null;
        if (state?.signature) await monitor.recordSigned(await reports.readRevision(state.studyKey, state.signature.revision));
      } catch (error) {
        logger.warn({ err: errorMessage(error), revision: signed.revision }, 'counting a signed report for model monitoring failed; it is missing from the review counts');
      }
      return signed;
    },
  };
}
