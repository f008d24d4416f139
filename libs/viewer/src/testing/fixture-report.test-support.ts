import { AI_DRAFT_DISCLAIMER, reportResponseSchema, type ReportResponse } from '@cxr/contracts';

/**
 * A draft report as the service sends it, for component tests: one image, one positive finding
 * (right upper zone nodule) with a grounded sentence, one negative. Parsed by the contract, so a
 * contract change that the fixture no longer meets fails loudly here.
 */
export const FIXTURE_STUDY_UID = '1.2.826.0.1.3680043.8.498.1';
export const FIXTURE_SOP_UID = '1.2.826.0.1.3680043.8.498.2';

export function fixtureReport(overrides: Partial<ReportResponse> = {}): ReportResponse {
  const base = 'https://report.example/api/studies/' + FIXTURE_STUDY_UID;
  const sig = '&expires=2030-01-01T00%3A00%3A00Z&signature=abc';
  const findings = 'Right upper zone nodule (AI probability 82%, threshold 50%). No pleural effusion.';
  const impression = 'Right upper zone nodule.';
  const first = 'Right upper zone nodule (AI probability 82%, threshold 50%).';
  const region = { x: 0.2, y: 0.15, width: 0.2, height: 0.2 };
  return reportResponseSchema.parse({
    studyInstanceUid: FIXTURE_STUDY_UID,
    status: 'draft',
    statusReason: null,
    aiGenerated: true,
    signed: false,
    edited: false,
    disclaimer: AI_DRAFT_DISCLAIMER,
    priority: 'routine',
    analysisVersion: 1,
    revision: 1,
    revisionKind: 'ai-draft',
    etag: '"r1-fixture"',
    model: { id: 'reference-cxr', version: '0.3.0', sha256: 'a'.repeat(64) },
    text: `${AI_DRAFT_DISCLAIMER}\n\nFINDINGS:\n${findings}\n\nIMPRESSION:\n${impression}`,
    sections: { findings, impression },
    sentences: [
      { section: 'findings', text: first, start: 0, end: first.length, finding: { code: 'nodule', sopInstanceUid: FIXTURE_SOP_UID, region } },
      { section: 'findings', text: 'No pleural effusion.', start: first.length + 1, end: findings.length, finding: null },
      { section: 'impression', text: impression, start: 0, end: impression.length, finding: { code: 'nodule', sopInstanceUid: FIXTURE_SOP_UID, region } },
    ],
    images: [{ sopInstanceUid: FIXTURE_SOP_UID, width: 512, height: 512, previewUrl: `${base}/images/${FIXTURE_SOP_UID}/preview.png?x=1${sig}` }],
    findings: [
      {
        code: 'nodule', display: 'Nodule', coding: { system: 'http://snomed.info/sct', code: '27925004', display: 'Nodule' },
        probability: 0.82, threshold: 0.5, positive: true, confidence: 'high', side: 'right', zone: 'upper',
        region, sopInstanceUid: FIXTURE_SOP_UID, decision: null,
        overlayUrl: `${base}/report/findings/nodule/overlay.png?sopInstanceUid=${FIXTURE_SOP_UID}${sig}`,
        heatmapUrl: `${base}/report/findings/nodule/heatmap.png?sopInstanceUid=${FIXTURE_SOP_UID}${sig}`,
        peak: { x: 0.3, y: 0.25 },
      },
      {
        code: 'pleural_effusion', display: 'Pleural effusion', coding: null,
        probability: 0.08, threshold: 0.4, positive: false, confidence: 'high', side: null, zone: null,
        region: null, sopInstanceUid: FIXTURE_SOP_UID, decision: null,
        overlayUrl: `${base}/report/findings/pleural_effusion/overlay.png?sopInstanceUid=${FIXTURE_SOP_UID}${sig}`,
        heatmapUrl: `${base}/report/findings/pleural_effusion/heatmap.png?sopInstanceUid=${FIXTURE_SOP_UID}${sig}`,
        peak: { x: 0.7, y: 0.8 },
      },
    ],
    signature: null,
    addenda: [],
    urlsExpireAt: '2030-01-01T00:00:00Z',
    updatedAt: '2025-01-02T03:04:05Z',
    ...overrides,
  });
}
