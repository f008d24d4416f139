import { describe, expect, test } from 'vitest';
import { editRequestOf, findingKey, initialReviewState, reviewReducer, undecidedPositives } from './review-state.ts';
import { FIXTURE_SOP_UID, fixtureReport } from './testing/fixture-report.test-support.ts';

const noduleKey = `nodule@${FIXTURE_SOP_UID}`;
const effusionKey = `pleural_effusion@${FIXTURE_SOP_UID}`;

describe('the review state', () => {
  test('starts clean, with the overlays of positive findings shown and of negatives hidden', () => {
    const state = initialReviewState(fixtureReport());
    expect(state.dirty).toBe(false);
    expect(state.overlays[noduleKey]).toEqual({ visible: true, opacity: 0.7 });
    expect(state.overlays[effusionKey]?.visible).toBe(false);
    expect(findingKey({ code: 'nodule', sopInstanceUid: FIXTURE_SOP_UID })).toBe(noduleKey);
  });

  test('text edits and decisions make it dirty and end up in the PUT body', () => {
    let state = initialReviewState(fixtureReport());
    state = reviewReducer(state, { type: 'edit-section', section: 'impression', text: 'Small right upper zone nodule.' });
    state = reviewReducer(state, { type: 'decide', key: noduleKey, decision: 'accepted' });
    expect(state.dirty).toBe(true);
    expect(editRequestOf(state)).toEqual({
      sections: { findings: fixtureReport().sections.findings, impression: 'Small right upper zone nodule.' },
      decisions: [
        { code: 'nodule', sopInstanceUid: FIXTURE_SOP_UID, decision: 'accepted' },
        { code: 'pleural_effusion', sopInstanceUid: FIXTURE_SOP_UID, decision: null },
      ],
    });
  });

  test('an edited COMPARISON ends up in the PUT body; a report without one sends none', () => {
    const report = fixtureReport();
    let state = initialReviewState({ ...report, sections: { ...report.sections, comparison: 'Compared with 2026-11-02: new right pleural effusion.' } });
    state = reviewReducer(state, { type: 'edit-section', section: 'comparison', text: 'Compared with 2026-11-02: no interval change.' });
    expect(state.dirty).toBe(true);
    expect(editRequestOf(state).sections.comparison).toBe('Compared with 2026-11-02: no interval change.');
    expect(editRequestOf(initialReviewState(report)).sections).not.toHaveProperty('comparison');
  });

  test('counts positive findings without a decision, and not negatives', () => {
    let state = initialReviewState(fixtureReport());
    expect(undecidedPositives(state).map((f) => f.code)).toEqual(['nodule']);
    state = reviewReducer(state, { type: 'decide', key: noduleKey, decision: 'rejected' });
    expect(undecidedPositives(state)).toEqual([]);
  });

  test('overlay toggles and opacity do not make the report dirty, and opacity is clamped to 0..1', () => {
    let state = initialReviewState(fixtureReport());
    state = reviewReducer(state, { type: 'toggle-overlay', key: noduleKey, visible: false });
    state = reviewReducer(state, { type: 'set-opacity', key: noduleKey, opacity: 1.7 });
    expect(state.overlays[noduleKey]).toEqual({ visible: false, opacity: 1 });
    state = reviewReducer(state, { type: 'set-opacity', key: noduleKey, opacity: -2 });
    expect(state.overlays[noduleKey]?.opacity).toBe(0);
    expect(state.dirty).toBe(false);
  });

  test('a newly loaded revision replaces text and decisions but keeps the overlay settings', () => {
    let state = initialReviewState(fixtureReport());
    state = reviewReducer(state, { type: 'set-opacity', key: noduleKey, opacity: 0.3 });
    state = reviewReducer(state, { type: 'edit-section', section: 'findings', text: 'local edit' });
    const next = fixtureReport({ revision: 2, etag: '"r2"', sections: { findings: 'saved elsewhere', impression: 'x' } });
    state = reviewReducer(state, { type: 'loaded', report: next });
    expect(state.sections.findings).toBe('saved elsewhere');
    expect(state.dirty).toBe(false);
    expect(state.overlays[noduleKey]?.opacity).toBe(0.3);
  });

  test('a signed report cannot be edited or decided', () => {
    let state = initialReviewState(fixtureReport({ status: 'signed', signed: true }));
    state = reviewReducer(state, { type: 'edit-section', section: 'impression', text: 'changed' });
    state = reviewReducer(state, { type: 'decide', key: noduleKey, decision: 'accepted' });
    expect(state.dirty).toBe(false);
    expect(state.sections.impression).toBe(fixtureReport().sections.impression);
    expect(state.decisions[noduleKey]).toBeNull();
  });

  test('a decision on a finding the report does not have is ignored', () => {
    const state = reviewReducer(initialReviewState(fixtureReport()), { type: 'decide', key: 'cardiomegaly@1.2', decision: 'accepted' });
    expect(state.dirty).toBe(false);
    expect(Object.keys(state.decisions)).toEqual([noduleKey, effusionKey]);
  });
});
