import { describe, expect, test } from 'vitest';
import { analysisRequestSchema, MAX_INDICATION_LENGTH } from './analysis-request.ts';
import { reportEditRequestSchema, reportResponseSchema, revisionResponseSchema } from './report.ts';

const studyKey = 'a'.repeat(32);
const request = (extra: Record<string, unknown> = {}) => ({
  schemaVersion: 1, analysisId: `${studyKey}.v1`, studyKey, version: 1, priority: 'routine',
  images: [{ instanceKey: 'b'.repeat(32), imageKey: 'derived/x.png', width: 100, height: 120 }],
  requestedAt: '2026-01-01T00:00:00.000Z', ...extra,
});

describe('the analysis request\'s indication', () => {
  test('is optional: a request without one, as queued before it existed, still parses', () => {
    expect(analysisRequestSchema.parse(request()).indication).toBeUndefined();
  });

  test('carries the clinical question, trimmed', () => {
    expect(analysisRequestSchema.parse(request({ indication: '  ? pneumothorax ' })).indication).toBe('? pneumothorax');
  });

  test.each([
    ['empty', ''],
    ['blank', '   '],
    ['too long', 'x'.repeat(MAX_INDICATION_LENGTH + 1)],
    ['not text', 42],
    ['null', null],
  ])('refuses an indication that is %s', (_name, indication) => {
    expect(analysisRequestSchema.safeParse(request({ indication })).success).toBe(false);
  });
});

describe('the report API\'s indication section', () => {
  const sections = { findings: 'No pneumothorax.', impression: 'No pneumothorax.' };

  test('is optional in the report, the edit and the revision, and the only section added', () => {
    const report = reportResponseSchema.shape.sections;
    expect(report.parse(sections)).toEqual(sections);
    expect(report.parse({ ...sections, indication: '? PTX' }).indication).toBe('? PTX');
    expect(report.safeParse({ ...sections, history: 'x' }).success).toBe(false);
    expect(revisionResponseSchema.shape.sections.parse({ ...sections, indication: '? PTX' }).indication).toBe('? PTX');
    expect(reportEditRequestSchema.parse({ sections: { ...sections, indication: '? PTX' } }).sections.indication).toBe('? PTX');
  });

  test('an edit refuses an indication longer than the request may carry', () => {
    expect(reportEditRequestSchema.safeParse({ sections: { ...sections, indication: 'x'.repeat(MAX_INDICATION_LENGTH + 1) } }).success).toBe(false);
  });
});
