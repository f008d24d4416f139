import { describe, expect, test } from 'vitest';
import type { AnalysisCompletedEvent, ReportEvent } from '@cxr/contracts';
import { draftLatencySeconds } from './report-events.ts';

const completed: AnalysisCompletedEvent = {
  type: 'analysis-completed',
  studyKey: 'a'.repeat(32),
  version: 1,
  analysisId: `${'a'.repeat(32)}.v1`,
  resultKey: 'results/x/v1/result.json',
  completedAt: '2026-11-22T10:00:04.000Z',
  studyCompletedAt: '2026-11-22T10:00:00.250Z',
};
const at = new Date('2026-11-22T10:00:05.000Z');

describe('end-to-end latency of a draft', () => {
  test('is the time from the study being complete at ingest to the applied analysis-completed event', () => {
    expect(draftLatencySeconds(completed, 'applied', at)).toBeCloseTo(4.75, 6);
  });

  test.each(['duplicate', 'stale-version', 'superseded'] as const)('is not measured again for an event ignored as %s', (outcome) => {
    expect(draftLatencySeconds(completed, outcome, at)).toBeUndefined();
  });

  test('is not measured for events from producers that do not say when the study was complete', () => {
    const { studyCompletedAt: _omitted, ...older } = completed;
    expect(draftLatencySeconds(older, 'applied', at)).toBeUndefined();
  });

  test('is not measured for other event types', () => {
    const failed: ReportEvent = { type: 'analysis-failed', studyKey: completed.studyKey, version: 1, analysisId: completed.analysisId, reason: 'x', failedAt: at.toISOString() };
    expect(draftLatencySeconds(failed, 'applied', at)).toBeUndefined();
  });

  test('ignores a negative span from clocks that disagree between hosts', () => {
    expect(draftLatencySeconds({ ...completed, studyCompletedAt: '2026-11-22T10:00:06.000Z' }, 'applied', at)).toBeUndefined();
  });
});
