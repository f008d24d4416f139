import { describe, expect, test } from 'vitest';
import { composeDraft } from '../drafts/compose-draft.ts';
import { applyAnalysisCompleted, applyStudyReceived, type ReportRevision, type ReportState } from '../state/report-state.ts';
import { analysisCompletedEvent, analysisResult, fixtureImage, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';
import { analysisCounts, FIELD, outputsOfDraft, reviewCounts, reviewOutcome, shadowCounts } from './performance-fields.ts';

const at = '2026-01-02T03:10:00.000Z';

/** A signed-looking revision of a one-image study: pleural effusion AI-positive (0.91), pneumothorax AI-negative (0.12). */
function revision(sections: { findings: string; impression: string }, decision: 'accepted' | 'rejected'): ReportRevision {
  const studyKey = randomKey();
  const image = fixtureImage();
  const received = (applyStudyReceived(null, studyReceivedEvent(studyKey, 1, [image]), at) as { state: ReportState }).state;
  const result = analysisResult(studyKey, 1, [image]);
  const completed = applyAnalysisCompleted(received, analysisCompletedEvent(result, 'r.json'), composeDraft(result, { composedAt: at }), 1, at);
  if (!completed.applied) throw new Error('not applied');
  return { ...completed.revision, sections, decisions: [{ instanceKey: image.instanceKey, code: 'pleural-effusion', decision }] };
}

describe('reviewOutcome', () => {
  test('counts the decision on the AI-positive finding and a finding the signed text adds', () => {
    const outcome = reviewOutcome(revision({ findings: 'Small right pleural effusion. There is a right apical pneumothorax.', impression: 'Pneumothorax.' }, 'accepted'));
    expect(outcome).toEqual({ decisions: [{ code: 'pleural-effusion', decision: 'accepted' }], added: ['pneumothorax'] });
    expect(reviewCounts(outcome)).toEqual(new Map([[FIELD.signed, 1], [FIELD.review('accepted', 'pleural-effusion'), 1], [FIELD.review('added', 'pneumothorax'), 1]]));
  });

  test.each([
    ['denies it', 'No pneumothorax.'],
    ['only hedges it', 'Possible small pneumothorax.'],
    ['does not mention it', 'Lungs are clear.'],
  ])('adds nothing when the signed text %s', (_, text) => {
    expect(reviewOutcome(revision({ findings: text, impression: '' }, 'rejected')).added).toEqual([]);
  });

  test('never counts a finding the AI already called positive as added', () => {
    expect(reviewOutcome(revision({ findings: 'Large left pleural effusion.', impression: '' }, 'rejected')).added).toEqual([]);
  });
});

describe('analysisCounts and shadowCounts', () => {
  test('count a study, its images and each in-scope image’s calls in their probability bins', () => {
    const draft = revision({ findings: '', impression: '' }, 'accepted').draft;
    const counts = analysisCounts(outputsOfDraft(draft));
    expect(counts.get(FIELD.studies)).toBe(1);
    expect(counts.get(FIELD.images)).toBe(1);
    expect(counts.get(FIELD.positive('pleural-effusion'))).toBe(1);
    expect(counts.get(FIELD.bin('pleural-effusion', 9))).toBe(1);
    expect(counts.get(FIELD.positive('pneumothorax'))).toBeUndefined();
    expect(counts.get(FIELD.bin('pneumothorax', 1))).toBe(1);
  });

  test('compare a shadow version’s calls with the active one’s image by image', () => {
    const active = { images: 1, outOfScopeImages: 0, findings: [{ instanceKey: 'a', code: 'x', probability: 0.9, positive: true }, { instanceKey: 'a', code: 'y', probability: 0.1, positive: false }] };
    const shadow = { images: 1, outOfScopeImages: 0, findings: [{ instanceKey: 'a', code: 'x', probability: 0.2, positive: false }, { instanceKey: 'a', code: 'y', probability: 0.1, positive: false }] };
    const counts = shadowCounts('m@1', active, shadow);
    expect(counts.get(FIELD.shadow('m@1', 'x', 'activeOnly'))).toBe(1);
    expect(counts.get(FIELD.shadow('m@1', 'y', 'bothNegative'))).toBe(1);
    expect(counts.get(FIELD.shadowStudies('m@1'))).toBe(1);
  });
});
