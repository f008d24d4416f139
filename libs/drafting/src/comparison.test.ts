import { describe, expect, test } from 'vitest';
import { compareFindings, compareWithPrior, isoStudyDate, SIZE_CHANGE_SHARE, type ComparedFinding } from './comparison.ts';

const finding = (code: string, over: Partial<ComparedFinding> = {}): ComparedFinding => ({
  code,
  display: code === 'effusion' ? 'Pleural effusion' : code === 'nodule' ? 'Nodule' : code,
  positive: false,
  probability: 0.1,
  side: null,
  zone: null,
  region: null,
  ...over,
});
const positive = (code: string, over: Partial<ComparedFinding> = {}) => finding(code, { positive: true, probability: 0.9, ...over });

describe('compareFindings', () => {
  test('a finding positive now and negative on the prior is new', () => {
    const changes = compareFindings([positive('effusion', { side: 'right' })], [finding('effusion')]);
    expect(changes).toEqual([{ code: 'effusion', display: 'Pleural effusion', change: 'new', side: 'right', zone: null }]);
  });

  test('a finding the prior did not report at all is new', () => {
    expect(compareFindings([positive('effusion')], []).map((c) => c.change)).toEqual(['new']);
  });

  test('a finding positive on the prior and negative now has resolved', () => {
    const changes = compareFindings([finding('nodule')], [positive('nodule', { side: 'left', zone: 'upper' })]);
    expect(changes).toEqual([{ code: 'nodule', display: 'Nodule', change: 'resolved', side: 'left', zone: 'upper' }]);
  });

  test('a finding negative on both studies is not mentioned', () => {
    expect(compareFindings([finding('effusion', { probability: 0.4 })], [finding('effusion', { probability: 0.05 })])).toEqual([]);
  });

  test('a measured nodule that grew by more than the share is larger, with both sizes', () => {
    const [change] = compareFindings([positive('nodule', { sizeMm: 18 })], [positive('nodule', { sizeMm: 12 })]);
    expect(change).toMatchObject({ change: 'larger', size: { before: 12, after: 18, unit: 'mm' } });
  });

  test('a measured nodule that shrank by more than the share is smaller', () => {
    expect(compareFindings([positive('nodule', { sizeMm: 8 })], [positive('nodule', { sizeMm: 14 })])[0]?.change).toBe('smaller');
  });

  test('a size change within the share is unchanged', () => {
    const after = Math.floor(20 * (1 + SIZE_CHANGE_SHARE)) - 1;
    expect(compareFindings([positive('nodule', { sizeMm: after })], [positive('nodule', { sizeMm: 20 })])[0]?.change).toBe('unchanged');
  });

  test('without measured sizes, the hot area of the heatmap decides larger', () => {
    const small = { x: 0.1, y: 0.5, width: 0.1, height: 0.1 };
    const big = { x: 0.1, y: 0.4, width: 0.2, height: 0.2 };
    const [change] = compareFindings([positive('effusion', { region: big })], [positive('effusion', { region: small })]);
    expect(change).toMatchObject({ change: 'larger', size: { unit: 'area' } });
  });

  test('a higher probability alone does not make a finding larger', () => {
    expect(compareFindings([positive('effusion', { probability: 0.99 })], [positive('effusion', { probability: 0.6 })])[0]?.change).toBe('unchanged');
  });

  test('a finding that moved from one side to the other is new there and resolved where it was', () => {
    const changes = compareFindings([positive('nodule', { side: 'left' })], [positive('nodule', { side: 'right' })]);
    expect(changes.map((c) => `${c.change} ${c.side}`)).toEqual(['new left', 'resolved right']);
  });

  test('the most probable image of a study stands for the finding', () => {
    const changes = compareFindings([finding('effusion', { probability: 0.2 }), positive('effusion')], [finding('effusion')]);
    expect(changes.map((c) => c.change)).toEqual(['new']);
  });
});

describe('compareWithPrior', () => {
  test('writes one sentence with the prior date and every change', () => {
    const comparison = compareWithPrior([positive('effusion', { side: 'right' }), positive('nodule', { side: 'left', zone: 'upper' })], {
      date: '20261102',
      findings: [finding('effusion'), positive('nodule', { side: 'left', zone: 'upper' })],
    });
    expect(comparison.priorDate).toBe('2026-11-02');
    expect(comparison.sentence).toBe('Compared with 2026-11-02: new right pleural effusion; the left upper zone nodule is unchanged.');
  });

  test('says so when neither study has a positive finding', () => {
    expect(compareWithPrior([finding('effusion')], { date: '2025-01-31', findings: [finding('effusion')] }).sentence).toBe(
      'Compared with 2025-01-31: no interval change; no abnormality on either study.',
    );
  });

  test('states measured sizes of a finding that grew', () => {
    const { sentence } = compareWithPrior([positive('nodule', { sizeMm: 20, side: 'right', zone: 'lower' })], { date: '20250101', findings: [positive('nodule', { sizeMm: 10, side: 'right', zone: 'lower' })] });
    expect(sentence).toBe('Compared with 2025-01-01: the right lower zone nodule is larger (10 mm, now 20 mm).');
  });
});

test.each([
  ['20261102', '2026-11-02'],
  ['2026-11-02', '2026-11-02'],
  ['2026', null],
  ['', null],
])('isoStudyDate(%j) is %j', (input, expected) => {
  expect(isoStudyDate(input)).toBe(expected);
});
