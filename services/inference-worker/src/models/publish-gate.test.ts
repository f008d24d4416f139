import { describe, expect, test } from 'vitest';
import { checkDatasetSpec } from '../cli/dataset-spec.ts';
import { compareEvaluations, modelAuditKey } from './publish-gate.ts';

const evaluation = (perFinding: Record<string, number>) => ({ dataset: 'set', perFinding: Object.fromEntries(Object.entries(perFinding).map(([c, auc]) => [c, { auc }])) });

describe('compareEvaluations', () => {
  test('passes a version no worse than the running one by more than the margin on any finding', () => {
    const decision = compareEvaluations(evaluation({ a: 0.94, b: 0.99 }), evaluation({ a: 0.95, b: 0.9 }), 0.02);
    expect(decision.passed).toBe(true);
    expect(decision.findings.find((f) => f.code === 'a')).toMatchObject({ worse: false, drop: expect.closeTo(0.01, 9) });
  });

  test('refuses a version worse by more than the margin on one finding, naming it', () => {
    const decision = compareEvaluations(evaluation({ a: 0.99, b: 0.85 }), evaluation({ a: 0.9, b: 0.9 }), 0.02);
    expect(decision.passed).toBe(false);
    expect(decision.reasons).toEqual(['b: AUC 0.850 vs running 0.900 (0.050 worse, margin 0.02)']);
  });

  test('counts a finding the new version is not evaluated on as worse', () => {
    expect(compareEvaluations(evaluation({ a: 0.99 }), evaluation({ a: 0.9, b: 0.9 }), 0.02).reasons[0]).toMatch(/^b: the new version has no AUC/);
  });

  test('passes when there is no running version to compare with', () => {
    expect(compareEvaluations(evaluation({ a: 0.5 }), null, 0.02)).toMatchObject({ passed: true, findings: [{ code: 'a', running: null }] });
  });

  test('refuses a margin outside [0, 1)', () => {
    expect(() => compareEvaluations(evaluation({}), null, 1)).toThrow(RangeError);
  });
});

describe('checkDatasetSpec', () => {
  test('reads phantoms:SEED:COUNT', () => {
    expect(checkDatasetSpec('phantoms:9400000:500')).toEqual({ seed: 9400000, count: 500 });
  });

  test.each([
    ['phantoms:1:5', /at least 20/],
    ['phantom:1:500', /expected phantoms:SEED:COUNT/],
    ['.', /local-dataset evaluation \(evaluateDataset\)/],
  ])('refuses %s with a reason', (spec, reason) => {
    expect(() => checkDatasetSpec(spec)).toThrow(reason);
  });
});

test('audit keys sort by time and stay apart from model ids', () => {
  const target = { kind: 's3' as const, bucket: 'b', prefix: 'reg/' };
  expect(modelAuditKey(target, { at: '2026-03-01T12:00:00.000Z', model: 'm@1.0.0', action: 'activate' })).toBe('reg/_audit/2026-03-01T12-00-00-000Z-m@1.0.0-activate.json');
});
