import { describe, expect, test } from 'vitest';
import type { AnalysisCompletedEvent } from '@cxr/contracts';
import { composeDraft } from '../drafts/compose-draft.ts';
import {
  applyAnalysisCompleted as applyAnalysisCompletedWithDraft,
  applyAnalysisFailed,
  applyComparisonRecomposed,
  applyStudyReceived,
  latestRevision,
  reportStatusOf,
  reportStateSchema,
  shownRevisionOf,
  type ReportState,
} from './report-state.ts';
import { analysisCompletedEvent, analysisFailedEvent, analysisResult, fixtureImage, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';

const t1 = '2026-01-02T03:10:00.000Z';
const t2 = '2026-01-02T03:11:00.000Z';

function applied<T extends { applied: boolean }>(transition: T): Extract<T, { applied: true }> {
  expect(transition.applied).toBe(true);
  return transition as Extract<T, { applied: true }>;
}

/** The transition with the fixture's draft, numbered one past the state's revisions (as the store does). */
function applyAnalysisCompleted(state: ReportState | null, event: AnalysisCompletedEvent, now: string) {
  const draft = composeDraft(analysisResult(event.studyKey, event.version, [fixtureImage()]), { composedAt: now });
  return applyAnalysisCompletedWithDraft(state, event, draft, (state ? latestRevision(state) : 0) + 1, now);
}

function study(version = 1) {
  const studyKey = randomKey();
  const images = [fixtureImage()];
  const received = studyReceivedEvent(studyKey, version, images);
  const result = analysisResult(studyKey, version, images);
  const completed = analysisCompletedEvent(result, `results/${studyKey}/v${version}/result.json`);
  return { studyKey, images, received, completed };
}

describe('report state transitions', () => {
  test('a received eligible study is pending and remembers its UID, priority and images', () => {
    const { received } = study();
    const { state } = applied(applyStudyReceived(null, received, t1));
    expect(reportStatusOf(state)).toEqual({ status: 'pending', reason: null });
    expect(state.identity).toEqual({ studyInstanceUid: received.studyInstanceUid, priority: 'routine' });
    expect(state.received?.images[0]?.sopInstanceUid).toBe(received.images[0]!.sopInstanceUid);
    expect(reportStateSchema.parse(state)).toEqual(state);
  });

  test('a received study that is not eligible says why, with a default reason when ingest gave none', () => {
    const { received } = study();
    const withReasons = applied(applyStudyReceived(null, { ...received, eligible: false, ineligibleReasons: ['a', 'b'] }, t1)).state;
    expect(reportStatusOf(withReasons)).toEqual({ status: 'not-eligible', reason: 'a; b' });
    const without = applied(applyStudyReceived(null, { ...received, eligible: false }, t1)).state;
    expect(reportStatusOf(without).reason).toBe('Study is not eligible for AI analysis.');
  });

  test('a completed analysis becomes revision 1 and shows as a draft once the study is received', () => {
    const { received, completed } = study();
    const first = applied(applyAnalysisCompleted(null, completed, t1));
    expect(first.revision.revision).toBe(1);
    expect(reportStatusOf(first.state).status).toBe('pending');
    expect(shownRevisionOf(first.state)).toBeNull();
    const merged = applied(applyStudyReceived(first.state, received, t2)).state;
    expect(reportStatusOf(merged).status).toBe('draft');
    expect(shownRevisionOf(merged)).toBe(1);
    expect(merged.revisions).toEqual([
      { revision: 1, kind: 'ai-draft', analysisVersion: 1, createdAt: t1, author: { sub: 'system:ai-draft', name: 'AI draft composer', role: 'system' }, basedOn: null },
    ]);
    expect(reportStateSchema.parse(merged)).toEqual(merged);
  });

  test('the same analysis-completed twice is a duplicate, not a second revision', () => {
    const { received, completed } = study();
    const state = applied(applyAnalysisCompleted(applied(applyStudyReceived(null, received, t1)).state, completed, t1)).state;
    expect(applyAnalysisCompleted(state, completed, t2)).toEqual({ applied: false, reason: 'duplicate' });
  });

  test('the same study-received twice is a duplicate', () => {
    const { received } = study();
    const state = applied(applyStudyReceived(null, received, t1)).state;
    expect(applyStudyReceived(state, received, t2)).toEqual({ applied: false, reason: 'duplicate' });
  });

  test('events for an older version than the current one are ignored', () => {
    const { received, completed, studyKey } = study();
    const v2 = applied(applyStudyReceived(null, { ...received, version: 2 }, t1)).state;
    expect(applyStudyReceived(v2, received, t2)).toEqual({ applied: false, reason: 'stale-version' });
    expect(applyAnalysisCompleted(v2, completed, t2)).toEqual({ applied: false, reason: 'stale-version' });
    expect(applyAnalysisFailed(v2, analysisFailedEvent(studyKey, 1, 'x'), t2)).toEqual({ applied: false, reason: 'stale-version' });
  });

  test('a newer version starts afresh but keeps the identity and numbers its draft after the old ones', () => {
    const { received, completed } = study();
    let state: ReportState = applied(applyStudyReceived(null, received, t1)).state;
    state = applied(applyAnalysisCompleted(state, completed, t1)).state;
    const v2Completed = { ...completed, version: 2, analysisId: `${completed.studyKey}.v2` };
    const next = applied(applyAnalysisCompleted(state, v2Completed, t2));
    expect(next.revision.revision).toBe(2);
    expect(next.state.version).toBe(2);
    expect(next.state.received).toBeNull();
    expect(next.state.identity).toEqual(state.identity);
    // Version 2's draft waits for version 2's study-received.
    expect(reportStatusOf(next.state).status).toBe('pending');
    expect(reportStatusOf(applied(applyStudyReceived(next.state, { ...received, version: 2 }, t2)).state).status).toBe('draft');
  });

  test('a failure report does not withdraw a draft already made for the version', () => {
    const { received, completed, studyKey } = study();
    const state = applied(applyAnalysisCompleted(applied(applyStudyReceived(null, received, t1)).state, completed, t1)).state;
    expect(applyAnalysisFailed(state, analysisFailedEvent(studyKey, 1, 'late failure'), t2)).toEqual({ applied: false, reason: 'superseded' });
  });

  test('a failed analysis is failed with the reason, even before the study is received', () => {
    const { studyKey, received } = study();
    const failed = applied(applyAnalysisFailed(null, analysisFailedEvent(studyKey, 1, 'decoder crashed'), t1)).state;
    expect(reportStatusOf(failed)).toEqual({ status: 'failed', reason: 'decoder crashed' });
    expect(reportStatusOf(applied(applyStudyReceived(failed, received, t2)).state).status).toBe('failed');
  });
});

describe('recomposing the comparison of a draft', () => {
  function drafted() {
    const { received, completed } = study();
    const withStudy = applied(applyStudyReceived(null, received, t1)).state;
    const done = applied(applyAnalysisCompleted(withStudy, completed, t1));
    const draft = { ...done.revision.draft, sections: { ...done.revision.draft.sections, comparison: 'Compared with 2026-10-01: new pleural effusion.' } };
    return { state: done.state, revision: done.revision, draft };
  }

  test('makes a new AI draft revision with the new comparison, based on the untouched one', () => {
    const { state, revision, draft } = drafted();
    const next = applied(applyComparisonRecomposed(state, revision, draft, 2, t2));
    expect([next.revision.revision, next.revision.kind, next.revision.basedOn, next.revision.edited]).toEqual([2, 'ai-draft', 1, false]);
    expect(next.revision.sections.comparison).toBe('Compared with 2026-10-01: new pleural effusion.');
    expect([next.state.current, shownRevisionOf(next.state), next.state.analysis?.outcome === 'completed' && next.state.analysis.revision]).toEqual([2, 2, 2]);
    expect(reportStateSchema.parse(next.state)).toEqual(next.state);
  });

  test.each([
    ['signed', (s: ReportState) => ({ ...s, signature: { signedBy: { sub: 'rad-1', name: 'Dr Reader', role: 'radiologist' as const }, signedAt: t2, revision: 1, analysisVersion: 1, attestation: null } }), (r: object) => r],
    ['edited', (s: ReportState) => s, (r: object) => ({ ...r, edited: true })],
    ['with a finding decided', (s: ReportState) => s, (r: object) => ({ ...r, decisions: [{ instanceKey: 'k', code: 'c', decision: 'accepted' }] })],
    ['no longer the current revision', (s: ReportState) => ({ ...s, current: 3 }), (r: object) => r],
  ])('leaves a draft %s as it is', (_, stateOf, revisionOf) => {
    const { state, revision, draft } = drafted();
    expect(applyComparisonRecomposed(stateOf(state), revisionOf(revision) as typeof revision, draft, 4, t2)).toEqual({ applied: false, reason: 'superseded' });
  });
});
