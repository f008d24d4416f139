import { describe, expect, test } from 'vitest';
import { auc, bootstrap, calibrationError, confusion, rates, rocCurve } from './metrics.ts';

describe('metrics', () => {
  test('AUC is 1 for perfect ranking, 0.5 for ties and 0 for reversed ranking', () => {
    expect(auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])).toBe(1);
    expect(auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5])).toBe(0.5);
    expect(auc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])).toBe(0);
    expect(auc([1, 1], [0.1, 0.2])).toBeNaN();
  });

  test('AUC counts a tie between a positive and a negative as half', () => {
    expect(auc([0, 1, 0, 1], [0.1, 0.5, 0.5, 0.9])).toBeCloseTo(0.875, 10);
  });

  test('rates follow from the confusion matrix', () => {
    const c = confusion([1, 1, 0, 0, 1], [true, false, true, false, true]);
    expect(c).toEqual({ tp: 2, fp: 1, tn: 1, fn: 1 });
    const r = rates(c);
    expect(r.sensitivity).toBeCloseTo(2 / 3);
    expect(r.specificity).toBeCloseTo(1 / 2);
    expect(r.precision).toBeCloseTo(2 / 3);
    expect(r.f1).toBeCloseTo(2 / 3);
    expect(r.accuracy).toBeCloseTo(3 / 5);
  });

  test('calibration error is zero for calibrated bins and large for confident mistakes', () => {
    expect(calibrationError([1, 0, 1, 0], [0.55, 0.55, 0.55, 0.55])).toBeCloseTo(0.05, 10);
    expect(calibrationError([0, 0], [0.99, 0.99])).toBeCloseTo(0.99, 10);
  });

  test('the bootstrap interval brackets the statistic and is deterministic for a seed', () => {
    const labels = Array.from({ length: 200 }, (_, i) => i % 2);
    const scores = labels.map((y, i) => y * 0.3 + ((i * 37) % 100) / 100);
    const stat = (idx: Int32Array): number => auc(Array.from(idx, (i) => labels[i]!), Array.from(idx, (i) => scores[i]!));
    const a = bootstrap(200, stat, 200, 1);
    expect(a.lo).toBeLessThanOrEqual(a.value);
    expect(a.hi).toBeGreaterThanOrEqual(a.value);
    expect(bootstrap(200, stat, 200, 1)).toEqual(a);
  });

  test('the ROC curve runs from (0,0) to (1,1)', () => {
    const pts = rocCurve([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8]);
    expect(pts[0]).toEqual({ fpr: 0, tpr: 0 });
    expect(pts.at(-1)).toEqual({ fpr: 1, tpr: 1 });
  });
});
