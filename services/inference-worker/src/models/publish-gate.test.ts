import { describe, expect, test } from 'vitest';
import { fileURLToPath } from 'node:url';
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
  // Paths that exist wherever the tests run from: this folder, this file, and the worker's src/.
  const here = fileURLToPath(new URL('.', import.meta.url));
  const file = fileURLToPath(import.meta.url);
  const src = fileURLToPath(new URL('..', import.meta.url));

  test('reads phantoms:SEED:COUNT', () => {
    expect(checkDatasetSpec('phantoms:9400000:500')).toEqual({ kind: 'phantoms', seed: 9400000, count: 500 });
  });

  test('reads a folder of studies with a labels CSV or a folder of reports', () => {
    expect(checkDatasetSpec(here, { labelsCsv: file })).toEqual({ kind: 'folder', datasetDir: here, labelsCsv: file });
    expect(checkDatasetSpec(here, { reportsDir: src })).toEqual({ kind: 'folder', datasetDir: here, reportsDir: src });
  });

  test.each([
    ['phantoms:1:5', {}, /at least 20/],
    ['phantoms:1:500', { labelsCsv: 'FILE' }, /not with --evaluate phantoms/],
    ['phantom:1:500', {}, /no such folder; expected a folder of DICOM studies .* or phantoms:SEED:COUNT/],
    ['HERE', {}, /exactly one source of labels: --labels <csv> .* or --reports <folder>/],
    ['HERE', { labelsCsv: 'FILE', reportsDir: 'SRC' }, /exactly one source of labels/],
    ['HERE', { labelsCsv: 'no-such-labels.csv' }, /--labels no-such-labels.csv: no such file/],
    ['HERE', { reportsDir: 'no-such-reports' }, /--reports no-such-reports: no such folder/],
    ['HERE', { labelsCsv: 'SRC' }, /no such file/],
    ['FILE', { labelsCsv: 'FILE' }, /got a file/],
  ])('refuses %s (%j) with a reason', (spec, truth, reason) => {
    const at = (p: string): string => ({ HERE: here, FILE: file, SRC: src })[p] ?? p;
    const given = Object.fromEntries(Object.entries(truth).map(([k, v]) => [k, at(v)]));
    expect(() => checkDatasetSpec(at(spec), given)).toThrow(reason);
  });
});

test('audit keys sort by time and stay apart from model ids', () => {
  const target = { kind: 's3' as const, bucket: 'b', prefix: 'reg/' };
  expect(modelAuditKey(target, { at: '2026-03-01T12:00:00.000Z', model: 'm@1.0.0', action: 'activate' })).toBe('reg/_audit/2026-03-01T12-00-00-000Z-m@1.0.0-activate.json');
});
