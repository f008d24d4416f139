import {
  discrepancySchema,
  finalReportResultSchema,
  objectKeys,
  type Actor,
  type Discrepancy,
  type DiscrepancyListResponse,
  type DiscrepancyReviewRequest,
  type FinalReportResult,
  type FinalReportSubmission,
} from '@cxr/contracts';
import { HttpError, type Logger } from '@cxr/platform';
import { parseReport, ReportTextError } from '@cxr/report-text';
import type { SecondReadMetrics } from '../metrics.ts';
import { findingImagePath, findingsWithUids, type SignUrl } from '../review/report-view.ts';
import { reportStatusOf, shownRevisionOf } from '../state/report-state.ts';
import type { ReportStore } from '../state/report-store.ts';
import { compareWithReport, type AiFinding } from './discrepancy-detector.ts';
import { discrepancyIdOf, DiscrepancyAlreadyReviewedError, finalReportIdOf, type DiscrepancyRecord, type SecondReadStore, type StoredDiscrepancy, type StoredFinalReport } from './second-read-store.ts';

/**
 * The second read's use-cases: take in a final report (from any of the ways in, already reduced
 * to a `FinalReportSubmission`), compare it with the AI's findings of its study, put the
 * discrepancies on the peer-review worklist; list that worklist; record a review. The study's
 * report itself (revisions, signature) is only read, never changed. Errors are HttpErrors with
 * the status the HTTP routes send; the HL7 listener maps them to ACK codes by status.
 */

export interface SecondReadServiceDeps {
  reports: ReportStore;
  store: SecondReadStore;
  metrics: SecondReadMetrics;
  signUrl: SignUrl;
  publicUrl: string;
  logger: Logger;
  now?: () => Date;
}

export interface SecondReadService {
  takeIn(submission: FinalReportSubmission, actor: Actor): Promise<FinalReportResult>;
  list(status: 'open' | 'reviewed', limit: number, cursor: string | null): Promise<DiscrepancyListResponse>;
  review(id: string, request: DiscrepancyReviewRequest, actor: Actor): Promise<Discrepancy>;
}

export function createSecondReadService(deps: SecondReadServiceDeps): SecondReadService {
  const { reports, store, metrics, signUrl, publicUrl, logger } = deps;
  const now = deps.now ?? (() => new Date());

  async function studyOf(submission: FinalReportSubmission): Promise<{ uid: string; studyKey: string }> {
    let uid = submission.studyInstanceUid;
    if (submission.accessionNumber !== undefined) {
      const byAccession = await store.studyOfAccession(submission.accessionNumber);
      if (uid !== undefined && byAccession !== null && byAccession !== uid) {
        throw new HttpError(409, 'study-mismatch', 'the accession number belongs to another study than the Study Instance UID given');
      }
      uid ??= byAccession ?? undefined;
    }
    if (uid === undefined) throw new HttpError(404, 'study-not-found', 'no study is known for this accession number');
    const entry = await reports.lookup(uid);
    if (!entry) throw new HttpError(404, 'study-not-found', 'no report is known for this study');
    return { uid, studyKey: entry.studyKey };
  }

  function toApi(record: DiscrepancyRecord): Discrepancy {
    const d = record.discrepancy;
    const sign = (kind: 'heatmap' | 'overlay') => `${publicUrl}${signUrl(findingImagePath(d.studyInstanceUid, d.code, d.sopInstanceUid, kind)).url}`;
    return discrepancySchema.parse({
      id: d.id,
      studyInstanceUid: d.studyInstanceUid,
      finalReportId: d.finalReportId,
      source: d.source,
      code: d.code,
      display: d.display,
      kind: d.kind,
      reportStatus: d.reportStatus,
      reportSentence: d.reportSentence,
      evidence: { sopInstanceUid: d.sopInstanceUid, probability: d.probability, threshold: d.threshold, heatmapUrl: sign('heatmap'), overlayUrl: sign('overlay') },
      reportStatusAtArrival: d.reportStatusAtArrival,
      createdAt: d.createdAt,
      review: record.review,
    });
  }

  async function resultOf(report: StoredFinalReport, duplicate: boolean, records?: DiscrepancyRecord[]): Promise<FinalReportResult> {
    const found = records ?? (await Promise.all(report.discrepancyIds.map((id) => store.get(id)))).filter((r): r is DiscrepancyRecord => r !== null);
    return finalReportResultSchema.parse({
      studyInstanceUid: report.studyInstanceUid,
      finalReportId: report.id,
      duplicate,
      findings: report.findings,
      discrepancies: found.map(toApi),
    });
  }

  async function compare(submission: FinalReportSubmission, actor: Actor): Promise<FinalReportResult> {
    const { uid, studyKey } = await studyOf(submission);
    return reports.withStudyLock(studyKey, async () => {
      const state = await reports.readState(studyKey);
      if (!state || state.identity?.studyInstanceUid !== uid) throw new HttpError(404, 'study-not-found', 'no report is known for this study');
      const { status } = reportStatusOf(state);
      const shownNumber = shownRevisionOf(state);
      if (shownNumber === null) {
        if (status === 'pending') throw new HttpError(503, 'analysis-pending', 'the AI has not analysed this study yet: send the report again later');
        throw new HttpError(422, 'no-ai-findings', `the study has no AI findings to compare with (report status ${status})`);
      }
      const id = finalReportIdOf(studyKey, submission.source, submission.sourceId, submission.text);
      const existing = await store.readFinalReport(studyKey, id);
      if (existing) return resultOf(existing, true);

      let parsed;
      try {
        parsed = parseReport(submission.text);
      } catch (error) {
        if (error instanceof ReportTextError) throw new HttpError(400, 'invalid-report-text', error.message);
        throw error;
      }
      const shown = await reports.readRevision(studyKey, shownNumber);
      const ai = findingsWithUids(state, shown);
      const aiFindings: AiFinding[] = ai.map((f) => ({
        code: f.code, display: f.display, probability: f.probability, threshold: f.threshold, positive: f.positive, confidence: f.confidence, side: f.side, sopInstanceUid: f.sopInstanceUid,
      }));
      const comparisons = compareWithReport(aiFindings, parsed);
      const at = now().toISOString();
      const discrepancies: StoredDiscrepancy[] = comparisons
        .filter((c) => c.agreement === 'discrepancy' && c.kind)
        .map((c) => {
          const source = ai.find((f) => f.code === c.code && f.sopInstanceUid === c.evidence.sopInstanceUid)!;
          return {
            schemaVersion: 1 as const,
            id: discrepancyIdOf(id, c.code, c.evidence.sopInstanceUid),
            studyKey,
            studyInstanceUid: uid,
            finalReportId: id,
            source: submission.source,
            code: c.code,
            display: c.display,
            kind: c.kind!,
            reportStatus: c.reportStatus,
            reportSentence: c.reportSentence === null ? null : c.reportSentence.slice(0, 2000),
            sopInstanceUid: c.evidence.sopInstanceUid,
            probability: c.evidence.probability,
            threshold: c.evidence.threshold,
            heatmapKey: source.heatmapKey ?? objectKeys.analysisResult(shown.draft.studyKey, shown.draft.version),
            reportStatusAtArrival: status,
            createdAt: at,
          };
        });
      const stored: StoredFinalReport = {
        schemaVersion: 1,
        id,
        studyKey,
        studyInstanceUid: uid,
        source: submission.source,
        sourceId: submission.sourceId ?? null,
        text: submission.text,
        receivedAt: at,
        reportedAt: submission.reportedAt ?? null,
        findings: comparisons.map((c) => ({ code: c.code, reportStatus: c.reportStatus, agreement: c.agreement })),
        discrepancyIds: discrepancies.map((d) => d.id),
      };
      await store.saveFinalReport(stored, discrepancies);
      const codes = discrepancies.map((d) => `${d.code} (${d.kind})`).join(', ');
      await reports.appendAudit(studyKey, {
        at,
        actor,
        action: 'final-report',
        revision: shownNumber,
        detail: `final report from ${submission.source} compared with the AI on ${comparisons.length} findings: ${discrepancies.length} discrepancies${codes ? `: ${codes}` : ''}`.slice(0, 2000),
      });
      for (const c of comparisons) metrics.findings.inc({ finding: c.code, agreement: c.agreement });
      for (const d of discrepancies) metrics.discrepancies.inc({ finding: d.code, kind: d.kind });
      logger.info({ studyKey, source: submission.source, findings: comparisons.length, discrepancies: discrepancies.length }, 'final report compared with the AI');
      return resultOf(stored, false, discrepancies.map((d) => ({ discrepancy: d, review: null })));
    });
  }

  return {
    async takeIn(submission, actor) {
      try {
        const result = await compare(submission, actor);
        metrics.finalReports.inc({ source: submission.source, outcome: result.duplicate ? 'duplicate' : 'compared' });
        return result;
      } catch (error) {
        const outcome = error instanceof HttpError ? (error.status === 404 ? 'unmatched' : error.status >= 500 ? 'error' : 'refused') : 'error';
        metrics.finalReports.inc({ source: submission.source, outcome });
        throw error;
      }
    },

    async list(status, limit, cursor) {
      const before = cursor === null ? null : decodeCursor(cursor);
      const page = await store.list(status, limit, before);
      return { items: page.items.map(toApi), nextCursor: page.next ? encodeCursor(page.next) : null };
    },

    async review(id, request, actor) {
      if (!/^[a-f0-9]{32}$/.test(id)) throw new HttpError(400, 'invalid-discrepancy-id', 'a discrepancy id is 32 hex digits');
      const record = await store.get(id);
      if (!record) throw new HttpError(404, 'discrepancy-not-found', 'no such discrepancy');
      const { studyKey } = record.discrepancy;
      return reports.withStudyLock(studyKey, async () => {
        const at = now().toISOString();
        let reviewed: DiscrepancyRecord;
        try {
          reviewed = await store.saveReview(record, { outcome: request.outcome, comment: request.comment ?? null, reviewer: actor, reviewedAt: at });
        } catch (error) {
          if (error instanceof DiscrepancyAlreadyReviewedError) throw new HttpError(409, 'already-reviewed', error.message);
          throw error;
        }
        await reports.appendAudit(studyKey, {
          at,
          actor,
          action: 'discrepancy-review',
          revision: null,
          detail: `discrepancy ${id.slice(0, 8)} (${record.discrepancy.code}, ${record.discrepancy.kind}) reviewed: ${request.outcome}`,
        });
        metrics.reviews.inc({ finding: record.discrepancy.code, outcome: request.outcome });
        return toApi(reviewed);
      });
    },
  };
}

function encodeCursor(at: { score: number; id: string }): string {
  return Buffer.from(`${at.score}|${at.id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { score: number; id: string } {
  const match = /^([0-9]{1,15})\|([a-f0-9]{32})$/.exec(/^[A-Za-z0-9_-]{1,100}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '');
  if (!match) throw new HttpError(400, 'invalid-cursor', 'the cursor is not one this service gave out');
  return { score: Number(match[1]), id: match[2]! };
}
