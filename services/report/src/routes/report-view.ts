import { AI_DRAFT_DISCLAIMER, type ReportFinding, type ReportResponse } from '@cxr/contracts';
import type { DraftFinding } from '../drafts/report-draft.ts';
import { reportStatusOf, type ReportRevision, type ReportState } from '../state/report-state.ts';

/**
 * Builds the viewer's report body from the stored state and the draft revision: joins the SOP
 * Instance UIDs (from study-received) into the pseudonymous draft, and makes absolute URLs.
 */

export type FindingImageKind = 'overlay' | 'heatmap';

export function findingImageUrl(publicUrl: string, studyInstanceUid: string, code: string, sopInstanceUid: string, kind: FindingImageKind): string {
  // Several images of a study carry the same finding codes: the query picks the image.
  return `${publicUrl}/api/studies/${studyInstanceUid}/report/findings/${encodeURIComponent(code)}/${kind}.png?sopInstanceUid=${sopInstanceUid}`;
}

/** The draft's findings with their image's SOP Instance UID; findings of unknown images are left out. */
export function findingsWithUids(state: ReportState, revision: ReportRevision): Array<DraftFinding & { sopInstanceUid: string }> {
  const uids = new Map((state.received?.images ?? []).map((image) => [image.instanceKey, image.sopInstanceUid]));
  return revision.draft.findings.flatMap((finding) => {
    const sopInstanceUid = uids.get(finding.instanceKey);
    return sopInstanceUid ? [{ ...finding, sopInstanceUid }] : [];
  });
}

export function buildReportResponse(state: ReportState, studyInstanceUid: string, revision: ReportRevision | null, publicUrl: string): ReportResponse {
  const { status, reason } = reportStatusOf(state);
  const shown = status === 'draft' ? revision : null;
  const findings: ReportFinding[] = shown
    ? findingsWithUids(state, shown).map((f) => ({
        code: f.code,
        display: f.display,
        coding: f.coding,
        probability: f.probability,
        threshold: f.threshold,
        positive: f.positive,
        sopInstanceUid: f.sopInstanceUid,
        overlayUrl: findingImageUrl(publicUrl, studyInstanceUid, f.code, f.sopInstanceUid, 'overlay'),
        heatmapUrl: findingImageUrl(publicUrl, studyInstanceUid, f.code, f.sopInstanceUid, 'heatmap'),
        peak: { ...f.peak },
      }))
    : [];
  return {
    studyInstanceUid,
    status,
    statusReason: reason,
    aiGenerated: true,
    signed: false,
    disclaimer: AI_DRAFT_DISCLAIMER,
    priority: state.identity?.priority ?? 'routine',
    analysisVersion: state.version,
    revision: shown?.revision ?? 0,
    model: shown ? { id: shown.draft.model.id, version: shown.draft.model.version, sha256: shown.draft.model.sha256 } : null,
    text: shown?.draft.text ?? '',
    sections: shown ? { ...shown.draft.sections } : { findings: '', impression: '' },
    findings,
    updatedAt: state.updatedAt,
  };
}
