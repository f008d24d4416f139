import { describe, expect, test } from 'vitest';
import { applyStudyReceived, type ReportState } from '../state/report-state.ts';
import { fixtureImage, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';
import { checkIfMatch, ifMatchTags, reportEtag } from './etag.ts';

function pendingState(): ReportState {
  const received = studyReceivedEvent(randomKey(), 1, [fixtureImage()]);
  return (applyStudyReceived(null, received, '2026-01-02T03:10:00.000Z') as { state: ReportState }).state;
}

describe('report ETags', () => {
  test('the tag is strong, quoted, and the same for the same stored state', () => {
    const state = pendingState();
    expect(reportEtag(state)).toMatch(/^"r0-[A-Za-z0-9_-]{16}"$/);
    expect(reportEtag(structuredClone(state))).toBe(reportEtag(state));
  });

  test('the tag changes with the shown revision, the status and the analysis version', () => {
    const state = pendingState();
    const tags = new Set([
      reportEtag(state),
      reportEtag({ ...state, version: 2 }),
      reportEtag({ ...state, analysis: { outcome: 'failed', analysisId: 'a', reason: 'x', failedAt: state.updatedAt } }),
      reportEtag({ ...state, analysis: { outcome: 'completed', analysisId: 'a', resultKey: 'r', completedAt: state.updatedAt, revision: 1 }, current: 1 }),
      reportEtag({ ...state, analysis: { outcome: 'completed', analysisId: 'a', resultKey: 'r', completedAt: state.updatedAt, revision: 1 }, current: 2 }),
    ]);
    expect(tags.size).toBe(5);
  });

  test.each([
    [undefined, 'missing'],
    ['', 'missing'],
    ['*', 'missing'],
    ['"r1-abc"', 'match'],
    ['"r0-x", "r1-abc"', 'match'],
    ['W/"r1-abc"', 'mismatch'],
    ['"r2-abc"', 'mismatch'],
  ] as const)('If-Match %j against "r1-abc" is %s', (header, outcome) => {
    expect(checkIfMatch(header, '"r1-abc"')).toBe(outcome);
  });

  test('a wildcard If-Match names no tag', () => {
    expect(ifMatchTags('*')).toEqual([]);
  });
});
