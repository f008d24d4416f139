import { describe, expect, test } from 'vitest';
import { composeDraft } from '../drafts/compose-draft.ts';
import { analysisResult, fixtureImage, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';
import { currentRevisionOfV1, migrateRevisionV1, migrateStateV1, reportRevisionV1Schema, reportStateV1Schema, type ReportStateV1 } from './migrate.ts';
import { reportRevisionSchema, reportStateSchema, reportStatusOf, shownRevisionOf } from './report-state.ts';

/** Objects exactly as the code before review wrote them (schema version 1). */
function v1Objects() {
  const studyKey = randomKey();
  const image = fixtureImage();
  const received = studyReceivedEvent(studyKey, 1, [image]);
  const draft = composeDraft(analysisResult(studyKey, 1, [image]), { composedAt: '2026-01-02T03:05:00.000Z' });
  // Drafts of that time had no confidence, side, zone or region.
  const oldDraft = { ...draft, findings: draft.findings.map(({ confidence: _c, side: _s, zone: _z, region: _r, ...rest }) => rest) };
  const revision = reportRevisionV1Schema.parse({ schemaVersion: 1, studyKey, revision: 1, kind: 'ai-draft', createdAt: '2026-01-02T03:06:00.000Z', draft: oldDraft });
  const state: ReportStateV1 = reportStateV1Schema.parse({
    schemaVersion: 1,
    studyKey,
    identity: { studyInstanceUid: received.studyInstanceUid, priority: 'stat' },
    version: 1,
    received: { eligible: true, ineligibleReasons: [], instanceCount: 1, images: received.images, receivedAt: received.receivedAt },
    analysis: { outcome: 'completed', analysisId: 'a', resultKey: 'r', completedAt: '2026-01-02T03:05:00.000Z', revision: 1 },
    revisions: [{ revision: 1, kind: 'ai-draft', version: 1, createdAt: '2026-01-02T03:06:00.000Z' }],
    updatedAt: '2026-01-02T03:06:00.000Z',
  });
  return { state, revision };
}

describe('migration of objects written before review', () => {
  test('a version 1 draft revision reads as an unedited AI draft by the system', () => {
    const { revision } = v1Objects();
    const migrated = reportRevisionSchema.parse(migrateRevisionV1(revision));
    expect(migrated).toMatchObject({ schemaVersion: 2, kind: 'ai-draft', basedOn: null, edited: false, decisions: [], signature: null, addenda: [], analysisVersion: 1 });
    expect(migrated.author.role).toBe('system');
    expect(migrated.sections).toEqual(revision.draft.sections);
    // The band is worked out for findings stored without one.
    expect(migrated.draft.findings.map((f) => f.confidence).every((c) => c !== undefined)).toBe(true);
  });

  test('a version 1 state reads as an unsigned draft showing its analysis revision', () => {
    const { state, revision } = v1Objects();
    expect(currentRevisionOfV1(state)).toBe(1);
    const migrated = reportStateSchema.parse(migrateStateV1(state, migrateRevisionV1(revision)));
    expect(reportStatusOf(migrated).status).toBe('draft');
    expect(shownRevisionOf(migrated)).toBe(1);
    expect(migrated).toMatchObject({ signature: null, addenda: [], positiveFindings: ['pleural-effusion'], arrivedAt: state.received!.receivedAt });
    expect(migrated.images).toEqual(state.received!.images);
    expect(migrated.revisions[0]).toMatchObject({ revision: 1, kind: 'ai-draft', analysisVersion: 1, basedOn: null });
  });
});
