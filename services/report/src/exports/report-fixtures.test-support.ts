import { AI_ASSISTED_SIGNED_NOTICE, AI_DRAFT_DISCLAIMER, reportResponseSchema, type ReportFinding, type ReportResponse } from '@cxr/contracts';
import type { SourceStudy } from './source-study.ts';

/**
 * Test inputs for the export builders: a report as the review API returns it (parsed with the
 * contract's schema, so a contract change shows up here) and a source study.
 */

export function sourceStudyFixture(overrides: Partial<SourceStudy> = {}): SourceStudy {
  return {
    studyInstanceUid: '1.2.826.0.1.3680043.8.498.101',
    patient: { id: 'SYN000042', issuerOfId: 'SYNTHETIC', name: 'PHANTOM^SYNTHETIC^Q^DR', birthDate: '19700102', sex: 'F' },
    study: { date: '20260105', time: '101500', id: 'S1', accessionNumber: 'ACC0000042', description: 'CHEST PA', referringPhysicianName: null },
    instances: [
      {
        sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
        sopInstanceUid: '1.2.826.0.1.3680043.8.498.103',
        seriesInstanceUid: '1.2.826.0.1.3680043.8.498.102',
        modality: 'DX',
        rows: 480,
        columns: 400,
        patientOrientation: ['L', 'F'],
      },
    ],
    ...overrides,
  };
}

export function findingFixture(overrides: Partial<ReportFinding> = {}): ReportFinding {
  return {
    code: 'pleural_effusion',
    display: 'Pleural effusion',
    coding: { system: 'http://snomed.info/sct', code: '60046008', display: 'Pleural effusion' },
    probability: 0.91,
    threshold: 0.5,
    positive: true,
    confidence: 'high',
    side: 'right',
    zone: 'lower',
    region: { x: 0.1, y: 0.6, width: 0.3, height: 0.25 },
    sopInstanceUid: '1.2.826.0.1.3680043.8.498.103',
    decision: null,
    overlayUrl: 'http://127.0.0.1:8090/overlay.png',
    heatmapUrl: 'http://127.0.0.1:8090/heatmap.png',
    peak: { x: 0.2, y: 0.7 },
    ...overrides,
  };
}

const FINDINGS_TEXT = 'Right pleural effusion. No pneumothorax.';
const IMPRESSION_TEXT = 'Right pleural effusion.';

/** A draft (unsigned) report with a positive coded finding and a negative uncoded one. */
export function draftReportFixture(overrides: Partial<ReportResponse> = {}): ReportResponse {
  const findings = [
    findingFixture(),
    findingFixture({ code: 'mass', display: 'Lung mass', coding: null, probability: 0.04, threshold: 0.21, positive: false, confidence: 'low', side: null, zone: null, region: null }),
  ];
  return reportResponseSchema.parse({
    studyInstanceUid: '1.2.826.0.1.3680043.8.498.101',
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
    etag: '"r1"',
    model: { id: 'cxr-reference', version: '0.1.0', sha256: 'ab'.repeat(32) },
    text: `${AI_DRAFT_DISCLAIMER}\n\nFINDINGS:\n${FINDINGS_TEXT}\n\nIMPRESSION:\n${IMPRESSION_TEXT}\n`,
    sections: { findings: FINDINGS_TEXT, impression: IMPRESSION_TEXT },
    sentences: [],
    images: [{ sopInstanceUid: '1.2.826.0.1.3680043.8.498.103', width: 400, height: 480, previewUrl: 'http://127.0.0.1:8090/preview.png' }],
    findings,
    signature: null,
    addenda: [],
    urlsExpireAt: null,
    updatedAt: '2026-01-05T10:20:00.000Z',
    ...overrides,
  });
}

/** The same report signed by a radiologist who accepted both AI findings (optionally with an addendum). */
export function signedReportFixture(options: { addenda?: boolean } = {}): ReportResponse {
  const draft = draftReportFixture();
  const signedBy = { sub: 'rad-1', name: 'Dr Ada Lovelace', role: 'radiologist' as const };
  const addenda = options.addenda
    ? [{ revision: 4, text: 'Compared with outside film: unchanged.', author: signedBy, createdAt: '2026-01-05T11:00:00.000Z' }]
    : [];
  return reportResponseSchema.parse({
    ...draft,
    status: 'signed',
    signed: true,
    edited: true,
    disclaimer: `${AI_ASSISTED_SIGNED_NOTICE} ${signedBy.name}.`,
    revision: options.addenda ? 4 : 3,
    revisionKind: options.addenda ? 'addendum' : 'signature',
    findings: draft.findings.map((f) => ({ ...f, decision: 'accepted' })),
    signature: { signedBy, signedAt: '2026-01-05T10:45:00.000Z', revision: 3 },
    addenda,
    text: `${AI_ASSISTED_SIGNED_NOTICE} ${signedBy.name}.\n\nFINDINGS:\n${draft.sections.findings}\n\nIMPRESSION:\n${draft.sections.impression}\n`,
  });
}
