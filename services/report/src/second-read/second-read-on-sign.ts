import { errorMessage, type Logger } from '@cxr/platform';
import type { ReportService } from '../review/report-service.ts';
import type { SecondReadService } from './second-read-service.ts';

/**
 * REPORT_SECOND_READ_ON_SIGN: a report signed in our own review flow is compared with the AI as
 * any final report is (source `review-sign`). The signature is committed first and the answer to
 * the radiologist does not wait on the comparison's outcome: a comparison that fails is logged
 * and counted (`cxr_second_read_final_reports_total{source="review-sign",outcome="error"}`), and
 * the report can be sent again by an integration (`POST /api/studies/{uid}/final-report`).
 */
export function withSecondReadOnSign(service: ReportService, secondRead: SecondReadService, logger: Logger): ReportService {
  return {
    ...service,
    async signReport(studyInstanceUid, ifMatch, request, actor) {
      const signed = await service.signReport(studyInstanceUid, ifMatch, request, actor);
      const text = `FINDINGS:\n${signed.sections.findings}\n\nIMPRESSION:\n${signed.sections.impression}`;
      try {
        await secondRead.takeIn({ source: 'review-sign', sourceId: `revision-${signed.revision}`, studyInstanceUid, text }, actor);
      } catch (error) {
        logger.warn({ err: errorMessage(error), revision: signed.revision }, 'comparing the signed report with the AI failed');
      }
      return signed;
    },
  };
}
