import { describe, expect, test } from 'vitest';
import type { Actor } from '@cxr/contracts';
import { composeDraft } from '../drafts/compose-draft.ts';
import { analysisCompletedEvent, analysisResult, fixtureImage, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';
import {
  applyAnalysisCompleted,
  applyStudyReceived,
  latestRevision,
  reportRevisionSchema,
  reportStateSchema,
  reportStatusOf,
  shownRevisionOf,
  type ReportRevision,
  type ReportState,
} from './report-state.ts';
import { applyAddendum, applyEdit, applySign, type ReviewContext, type ReviewResult } from './review-transitions.ts';

const radiologist: Actor = { sub: 'rad-1', name: 'Dr. Reader', role: 'radiologist' };
const t0 = '2026-01-02T03:10:00.000Z';
const t1 = '2026-01-02T03:20:00.000Z';
const t2 = '2026-01-02T03:30:00.000Z';

/** Stored revisions by number, as the store would hold them. */
type Stored = Map<number, ReportRevision>;

function draftStudy(indication?: string): { state: ReportState; stored: Stored; sop: string } {
  const studyKey = randomKey();
  const image = fixtureImage();
  const received = studyReceivedEvent(studyKey, 1, [image]);
  const result = { ...analysisResult(studyKey, 1, [image]), ...(indication !== undefined ? { indication } : {}) };
  let state = (applyStudyReceived(null, received, t0) as { state: ReportState }).state;
  const completed = applyAnalysisCompleted(state, analysisCompletedEvent(result, 'r.json'), composeDraft(result, { composedAt: t0 }), 1, t0);
  if (!completed.applied) throw new Error('not applied');
  state = completed.state;
  return { state, stored: new Map([[1, completed.revision]]), sop: image.sopInstanceUid };
}

function context(state: ReportState, stored: Stored, now = t1): ReviewContext {
  const shown = shownRevisionOf(state);
  return { state, shown: shown === null ? null : stored.get(shown)!, revisionNumber: latestRevision(state) + 1, author: radiologist, now };
}

function ok(result: ReviewResult, stored: Stored): ReportState {
  if (!result.ok) throw new Error(`refused: ${result.refusal}`);
  stored.set(result.revision.revision, result.revision);
  expect(reportRevisionSchema.parse(result.revision)).toEqual(result.revision);
  expect(reportStateSchema.parse(result.state)).toEqual(result.state);
  return result.state;
}

const sections = { findings: 'Small right effusion.', impression: 'Right pleural effusion.' };

describe('review transitions', () => {
  test('an edit makes a new revision based on the shown one, with the new text and decisions', () => {
    const { state, stored, sop } = draftStudy();
    const after = ok(applyEdit(context(state, stored), { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'accepted' }] }), stored);
    const revision = stored.get(2)!;
    expect(revision).toMatchObject({ kind: 'edit', basedOn: 1, author: radiologist, edited: true, sections, createdAt: t1 });
    expect(revision.decisions.map((d) => [d.code, d.decision])).toEqual([['pleural-effusion', 'accepted']]);
    // The AI draft is kept as it was.
    expect(revision.draft).toEqual(stored.get(1)!.draft);
    expect(after.current).toBe(2);
    expect(reportStatusOf(after).status).toBe('draft');
  });

  test('an edit keeps the indication of the order unless it rewrites it', () => {
    const { state, stored } = draftStudy('? pneumothorax');
    expect(stored.get(1)!.sections.indication).toBe('? pneumothorax');
    const kept = ok(applyEdit(context(state, stored), { sections, decisions: [] }), stored);
    expect(stored.get(2)!.sections).toEqual({ ...sections, indication: '? pneumothorax' });
    ok(applyEdit(context(kept, stored, t2), { sections: { ...sections, indication: '? pneumothorax, chest drain in situ' }, decisions: [] }), stored);
    expect(stored.get(3)!.sections.indication).toBe('? pneumothorax, chest drain in situ');
  });

  test('an edit of a report without an indication adds none', () => {
    const { state, stored } = draftStudy();
    ok(applyEdit(context(state, stored), { sections, decisions: [] }), stored);
    expect(stored.get(2)!.sections).toEqual(sections);
  });

  test('a null decision withdraws an earlier one, and a rejected finding no longer counts as positive', () => {
    const { state, stored, sop } = draftStudy();
    expect(state.positiveFindings).toEqual(['pleural-effusion']);
    const rejected = ok(applyEdit(context(state, stored), { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'rejected' }] }), stored);
    expect(rejected.positiveFindings).toEqual([]);
    const withdrawn = ok(applyEdit(context(rejected, stored, t2), { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: null }] }), stored);
    expect(stored.get(3)!.decisions).toEqual([]);
    expect(withdrawn.positiveFindings).toEqual(['pleural-effusion']);
  });

  test('an edit that does not send the COMPARISON keeps the shown one, and one that sends it replaces it', () => {
    const studyKey = randomKey();
    const image = fixtureImage();
    const result = analysisResult(studyKey, 1, [image]);
    let state = (applyStudyReceived(null, studyReceivedEvent(studyKey, 1, [image]), t0) as { state: ReportState }).state;
    const draft = composeDraft(result, { composedAt: t0, comparison: () => 'None.' });
    const completed = applyAnalysisCompleted(state, analysisCompletedEvent(result, 'r.json'), draft, 1, t0);
    if (!completed.applied) throw new Error('not applied');
    state = completed.state;
    const stored: Stored = new Map([[1, completed.revision]]);
    const kept = ok(applyEdit(context(state, stored), { sections, decisions: [] }), stored);
    expect(stored.get(2)!.sections).toEqual({ ...sections, comparison: 'None.' });
    ok(applyEdit(context(kept, stored, t2), { sections: { ...sections, comparison: 'Compared with 2025-01-01: no interval change.' }, decisions: [] }), stored);
    expect(stored.get(3)!.sections.comparison).toBe('Compared with 2025-01-01: no interval change.');
  });

  test('an edit naming a finding the report does not have is refused, listing it', () => {
    const { state, stored, sop } = draftStudy();
    const result = applyEdit(context(state, stored), {
      sections,
      decisions: [
        { code: 'cardiomegaly', sopInstanceUid: sop, decision: 'accepted' },
        { code: 'pleural-effusion', sopInstanceUid: '1.2.3.4', decision: 'accepted' },
      ],
    });
    expect(result).toEqual({
      ok: false,
      refusal: 'unknown-findings',
      findings: [
        { code: 'cardiomegaly', sopInstanceUid: sop },
        { code: 'pleural-effusion', sopInstanceUid: '1.2.3.4' },
      ],
    });
  });

  test('a study without a draft cannot be edited or signed', () => {
    const studyKey = randomKey();
    const state = (applyStudyReceived(null, studyReceivedEvent(studyKey, 1, [fixtureImage()]), t0) as { state: ReportState }).state;
    const stored: Stored = new Map();
    expect(applyEdit(context(state, stored), { sections, decisions: [] })).toEqual({ ok: false, refusal: 'no-draft' });
    expect(applySign(context(state, stored), {})).toEqual({ ok: false, refusal: 'no-draft' });
  });

  test('signing is refused while a positive AI finding has no decision, listing it', () => {
    const { state, stored, sop } = draftStudy();
    expect(applySign(context(state, stored), {})).toEqual({ ok: false, refusal: 'undecided-findings', findings: [{ code: 'pleural-effusion', sopInstanceUid: sop }] });
  });

  test('a signed report is final: edits and second signatures are refused, addenda are added', () => {
    const { state, stored, sop } = draftStudy();
    const decided = ok(applyEdit(context(state, stored), { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'accepted' }] }), stored);
    const signed = ok(applySign(context(decided, stored, t2), { attestation: 'I have reviewed the images.' }), stored);
    expect(reportStatusOf(signed)).toEqual({ status: 'signed', reason: null });
    expect(signed.signature).toEqual({ signedBy: radiologist, signedAt: t2, revision: 3, analysisVersion: 1, attestation: 'I have reviewed the images.' });
    expect(stored.get(3)).toMatchObject({ kind: 'signature', basedOn: 2, sections, edited: true });

    expect(applyEdit(context(signed, stored), { sections, decisions: [] })).toEqual({ ok: false, refusal: 'signed' });
    expect(applySign(context(signed, stored), {})).toEqual({ ok: false, refusal: 'signed' });

    const withAddendum = ok(applyAddendum(context(signed, stored, t2), 'Comparison with prior: unchanged.'), stored);
    expect(withAddendum.addenda).toEqual([{ revision: 4, text: 'Comparison with prior: unchanged.', author: radiologist, createdAt: t2 }]);
    expect(stored.get(4)).toMatchObject({ kind: 'addendum', basedOn: 3, sections, signature: signed.signature });
    expect(reportStatusOf(withAddendum).status).toBe('signed');
  });

  test('an addendum to an unsigned report is refused', () => {
    const { state, stored } = draftStudy();
    expect(applyAddendum(context(state, stored), 'text')).toEqual({ ok: false, refusal: 'not-signed' });
  });

  test('while unsigned, a newer analysis makes its draft the report and keeps the edits in the history', () => {
    const { state, stored, sop } = draftStudy();
    const edited = ok(applyEdit(context(state, stored), { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'accepted' }] }), stored);
    const studyKey = edited.studyKey;
    const images = [{ ...fixtureImage(), instanceKey: edited.images[0]!.instanceKey, sopInstanceUid: sop }];
    const result2 = analysisResult(studyKey, 2, images);
    const v2 = applyAnalysisCompleted(edited, analysisCompletedEvent(result2, 'r2.json'), composeDraft(result2, { composedAt: t2 }), 3, t2);
    if (!v2.applied) throw new Error('not applied');
    expect(v2.becameCurrent).toBe(true);
    expect(v2.superseded).toMatchObject({ revision: 2, kind: 'edit' });
    expect(v2.state.current).toBe(3);
    expect(v2.state.revisions.map((r) => [r.revision, r.kind])).toEqual([
      [1, 'ai-draft'],
      [2, 'edit'],
      [3, 'ai-draft'],
    ]);
    const received2 = applyStudyReceived(v2.state, { ...studyReceivedEvent(studyKey, 2, images), studyInstanceUid: edited.identity!.studyInstanceUid }, t2);
    if (!received2.applied) throw new Error('not applied');
    expect(reportStatusOf(received2.state).status).toBe('draft');
    expect(shownRevisionOf(received2.state)).toBe(3);
  });

  test('once signed, a newer analysis is recorded but the signed report stays the report', () => {
    const { state, stored, sop } = draftStudy();
    const decided = ok(applyEdit(context(state, stored), { sections, decisions: [{ code: 'pleural-effusion', sopInstanceUid: sop, decision: 'accepted' }] }), stored);
    const signed = ok(applySign(context(decided, stored, t2), {}), stored);
    const images = [{ ...fixtureImage(), instanceKey: signed.images[0]!.instanceKey, sopInstanceUid: sop }];
    const result2 = analysisResult(signed.studyKey, 2, images);
    const v2 = applyAnalysisCompleted(signed, analysisCompletedEvent(result2, 'r2.json'), composeDraft(result2, { composedAt: t2 }), 4, t2);
    if (!v2.applied) throw new Error('not applied');
    expect(v2.becameCurrent).toBe(false);
    expect(v2.state.current).toBe(3);
    expect(v2.state.revisions.at(-1)).toMatchObject({ revision: 4, kind: 'ai-draft', analysisVersion: 2 });
    expect(reportStatusOf(v2.state)).toEqual({
      status: 'signed',
      reason: 'A newer analysis (version 2) arrived after signing; the signed report is unchanged (add an addendum if needed).',
    });
    expect(shownRevisionOf(v2.state)).toBe(3);
  });
});
