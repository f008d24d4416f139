import { describe, expect, test } from 'vitest';
import { generatePhantom } from './phantom.ts';
import { labelReport, writeReport } from './report.ts';

describe('report text', () => {
  test('a finding sentence gives location and size', () => {
    const text = writeReport([{ code: 'nodule', side: 'right', zone: 'upper', sizeMm: 14 }]);
    expect(text.findings).toContain('A 14 mm nodule in the right upper zone.');
    expect(text.findings).toContain('No pleural effusion. No pneumothorax. Heart size is normal.');
    expect(text.impression).toBe('Right upper zone nodule.');
  });

  test('the labeller reads back the labels of every report the generator writes', () => {
    for (let seed = 0; seed < 400; seed++) {
      const p = generatePhantom({ seed, size: 16 });
      expect(labelReport(`${p.reportText.findings} ${p.reportText.impression}`), p.reportText.findings).toEqual(p.labels);
      expect(labelReport(p.reportText.findings)).toEqual(p.labels);
      expect(labelReport(p.reportText.impression)).toEqual(p.labels);
    }
  });

  test.each([
    ['No pneumothorax.', 'pneumothorax', 0],
    ['There is no pleural effusion.', 'pleural_effusion', 0],
    ['Small left pleural effusion.', 'pleural_effusion', 1],
    ['Cardiomegaly.', 'cardiomegaly', 1],
    ['Heart size is normal.', 'cardiomegaly', 0],
    ['The heart is enlarged, with a cardiothoracic ratio of 0.61.', 'cardiomegaly', 1],
    ['No focal lung lesion. A 40 mm mass in the left lower zone.', 'mass', 1],
    ['Without evidence of a nodule.', 'nodule', 0],
    ['Right apical pneumothorax. No effusion.', 'pneumothorax', 1],
  ] as const)('labels %j as %s = %i', (text, code, value) => {
    expect(labelReport(text)[code]).toBe(value);
  });
});
