import { describe, expect, test } from 'vitest';
import type { ModelValidation } from '@cxr/contracts';
import { DEFAULT_DRIFT_LIMITS, findingPerformance, modelVersionPerformance, populationStabilityIndex } from './drift.ts';
import { FIELD } from './performance-fields.ts';
import type { FieldCounts } from './performance-store.ts';

const uniform = Array.from({ length: 10 }, () => 0.1);
const validation: ModelValidation = {
  dataset: 'test', count: 1000, computedAt: '2026-01-01T00:00:00.000Z',
  findings: { nodule: { positiveRate: 0.2, meanProbability: 0.3, histogram: uniform } },
};

/** Counters of `images` images of nodule, `positives` of them positive, spread evenly over the bins. */
function reads(images: number, positives: number, bins: number[] = Array.from({ length: 10 }, () => images / 10)): FieldCounts {
  const fields: FieldCounts = new Map([[FIELD.read('nodule'), images], [FIELD.positive('nodule'), positives]]);
  bins.forEach((n, i) => fields.set(FIELD.bin('nodule', i), n));
  return fields;
}

function reviews(accepted: number, rejected: number, added: number): FieldCounts {
  return new Map([[FIELD.review('accepted', 'nodule'), accepted], [FIELD.review('rejected', 'nodule'), rejected], [FIELD.review('added', 'nodule'), added]]);
}

describe('findingPerformance', () => {
  test('says ok while the live positive rate stays inside validation ± tolerance', () => {
    const f = findingPerformance('nodule', reads(200, 50), new Map(), validation, DEFAULT_DRIFT_LIMITS);
    expect(f.positiveRate).toBe(0.25);
    expect(f.expected).toMatchObject({ positiveRate: 0.2, lower: expect.closeTo(0.1, 9), upper: expect.closeTo(0.3, 9) });
    expect(f.drift.positiveRate).toBe('ok');
    expect(f.drift.reasons).toEqual([]);
  });

  test.each([
    ['above', 70],
    ['below', 10],
  ])('flags drift when the live positive rate is %s the band', (_, positives) => {
    const f = findingPerformance('nodule', reads(200, positives), new Map(), validation, DEFAULT_DRIFT_LIMITS);
    expect(f.drift.positiveRate).toBe('drift');
    expect(f.drift.reasons[0]).toMatch(/positive rate .* outside the expected 10\.0%–30\.0%/);
  });

  test('says nothing about a rate over fewer images than the minimum', () => {
    const f = findingPerformance('nodule', reads(20, 19), new Map(), validation, DEFAULT_DRIFT_LIMITS);
    expect(f.drift.positiveRate).toBe('insufficient-data');
    expect(f.drift.scoreDistribution).toBe('insufficient-data');
  });

  test('has no reference without validation figures', () => {
    const f = findingPerformance('nodule', reads(200, 190), new Map(), null, DEFAULT_DRIFT_LIMITS);
    expect(f.drift.positiveRate).toBe('no-reference');
    expect(f.expected).toBeNull();
  });

  test('flags a shifted probability distribution even when the positive rate is in band', () => {
    const shifted = [0, 0, 0, 0, 0, 0, 0, 0, 100, 100];
    const f = findingPerformance('nodule', reads(200, 40, shifted), new Map(), validation, DEFAULT_DRIFT_LIMITS);
    expect(f.drift.positiveRate).toBe('ok');
    expect(f.drift.scoreDistribution).toBe('drift');
    expect(f.scorePsi!).toBeGreaterThan(DEFAULT_DRIFT_LIMITS.scorePsiLimit);
  });

  test('flags agreement below the floor once enough calls were reviewed', () => {
    const f = findingPerformance('nodule', reviews(10, 8, 4), new Map(), validation, DEFAULT_DRIFT_LIMITS);
    expect(f.review.agreement).toBeCloseTo(10 / 22, 9);
    expect(f.drift.agreement).toBe('drift');
    expect(f.drift.reasons.join(' ')).toMatch(/below 70\.0%/);
  });

  test('flags a drop in agreement from the window before, though still above the floor', () => {
    const f = findingPerformance('nodule', reviews(38, 10, 2), reviews(48, 2, 0), validation, DEFAULT_DRIFT_LIMITS);
    expect(f.review.agreement).toBeCloseTo(0.76, 9);
    expect(f.review.previousAgreement).toBeCloseTo(0.96, 9);
    expect(f.drift.agreement).toBe('drift');
    expect(f.drift.reasons.join(' ')).toMatch(/fell from 96\.0% to 76\.0%/);
  });

  test('leaves agreement unchecked with fewer reviewed calls than the minimum', () => {
    expect(findingPerformance('nodule', reviews(1, 5, 0), new Map(), validation, DEFAULT_DRIFT_LIMITS).drift.agreement).toBe('insufficient-data');
  });
});

describe('populationStabilityIndex', () => {
  test('is zero for the same distribution and grows with the shift', () => {
    expect(populationStabilityIndex([10, 10, 10, 10, 10, 10, 10, 10, 10, 10], uniform)).toBeCloseTo(0, 9);
    const small = populationStabilityIndex([12, 8, 10, 10, 10, 10, 10, 10, 10, 10], uniform);
    const large = populationStabilityIndex([50, 50, 0, 0, 0, 0, 0, 0, 0, 0], uniform);
    expect(small).toBeGreaterThan(0);
    expect(large).toBeGreaterThan(small);
  });
});

describe('modelVersionPerformance', () => {
  test('reports the out-of-scope and not-eligible shares and whether any check drifts', () => {
    const fields: FieldCounts = new Map([
      ...reads(200, 80),
      [FIELD.studies, 100], [FIELD.images, 220], [FIELD.outOfScope, 20], [FIELD.received, 120], [FIELD.notEligible, 20],
    ]);
    const v = modelVersionPerformance('active', 'm@1.0.0', fields, new Map(), validation, DEFAULT_DRIFT_LIMITS);
    expect(v).toMatchObject({ studies: 100, images: 220, outOfScopeShare: 20 / 220, notEligibleShare: 20 / 120, drifting: true, shadow: null });
    expect(v.findings.map((f) => f.code)).toEqual(['nodule']);
  });
});
