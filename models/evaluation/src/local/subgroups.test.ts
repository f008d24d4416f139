import { describe, expect, test } from 'vitest';
import type { Interval } from '../metrics.ts';
import { largestGap, type GroupMetrics } from './local-evaluation.ts';
import { ageBandOf, subgroupValuesOf, SUBGROUP_ATTRIBUTES, type SubgroupAttribute } from './subgroups.ts';

describe('subgroupValuesOf', () => {
  test('reads sex, age band, view, make and model from the de-identified metadata', () => {
    const values = subgroupValuesOf({
      '00100040': { vr: 'CS', Value: ['f'] },
      '00101010': { vr: 'AS', Value: ['063Y'] },
      '00185101': { vr: 'CS', Value: ['AP'] },
      '00080070': { vr: 'LO', Value: ['ACME '] },
      '00081090': { vr: 'LO', Value: ['Flatpanel 9'] },
    });
    expect(values).toEqual({ sex: 'F', ageBand: '60-79', viewPosition: 'AP', manufacturer: 'ACME', manufacturerModelName: 'Flatpanel 9' });
  });

  test('puts absent, empty and unexpected values in the group unknown', () => {
    expect(subgroupValuesOf({ '00100040': { vr: 'CS', Value: ['X'] }, '00080070': { vr: 'LO', Value: [''] } })).toEqual({
      sex: 'unknown', ageBand: 'unknown', viewPosition: 'unknown', manufacturer: 'unknown', manufacturerModelName: 'unknown',
    });
  });

  test.each([
    ['000Y', '0-17'], ['017Y', '0-17'], ['018Y', '18-39'], ['039Y', '18-39'], ['040Y', '40-59'], ['079Y', '60-79'], ['080Y', '80+'], ['090Y', '80+'], ['018M', 'unknown'], [undefined, 'unknown'],
  ])('puts a kept age of %s in the band %s', (age, band) => {
    expect(ageBandOf(age)).toBe(band);
  });
});

describe('largestGap', () => {
  const interval = (value: number): Interval => ({ value, lo: value - 0.1, hi: value + 0.1 });
  const group = (auc: number, count: number, positives: number): GroupMetrics => ({
    studies: count, evaluated: count, macroAuc: auc, outOfDistribution: { images: count, flagged: 0, flagRate: 0, byCheck: {} },
    perFinding: { nodule: { count, positives, auc: interval(auc), sensitivity: 0, specificity: 0 } },
  });
  const empty = (): Record<SubgroupAttribute, Record<string, GroupMetrics>> => Object.fromEntries(SUBGROUP_ATTRIBUTES.map((a) => [a, {}])) as Record<SubgroupAttribute, Record<string, GroupMetrics>>;

  test('compares only groups with enough positive and negative studies', () => {
    const subgroups = empty();
    subgroups.sex = { F: group(0.9, 20, 10), M: group(0.8, 20, 10) };
    // A tiny group with an extreme AUC is not a finding about the model.
    subgroups.manufacturer = { A: group(0.95, 20, 10), B: group(0.2, 6, 3) };
    const gap = largestGap(subgroups, ['nodule'], 5)!;
    expect(gap).toMatchObject({ attribute: 'sex', finding: 'nodule', higher: { group: 'F' }, lower: { group: 'M' } });
    expect(gap.gap).toBeCloseTo(0.1, 12);
    expect(gap.intervalsSeparate).toBe(false);
  });

  test('is null when no attribute has two comparable groups', () => {
    const subgroups = empty();
    subgroups.sex = { F: group(0.9, 20, 10), unknown: group(0.5, 20, 2) };
    expect(largestGap(subgroups, ['nodule'], 5)).toBeNull();
  });
});
