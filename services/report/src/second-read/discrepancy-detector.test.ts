import { describe, expect, test } from 'vitest';
import { confidenceBand } from '@cxr/drafting';
import { parseReport } from '@cxr/report-text';
import { compareWithReport, modelCodeOf, type AiFinding } from './discrepancy-detector.ts';

function ai(code: string, probability: number, side: AiFinding['side'] = null, sopInstanceUid = '1.2.3.4'): AiFinding {
  const threshold = 0.5;
  return { code, display: code, probability, threshold, positive: probability >= threshold, confidence: confidenceBand(probability, threshold), side, sopInstanceUid };
}

function compare(findings: AiFinding[], text: string) {
  return Object.fromEntries(compareWithReport(findings, parseReport(text)).map((c) => [c.code, c]));
}

describe('comparing a final report with the AI', () => {
  test('a confident AI effusion the report denies is a discrepancy with the denying sentence', () => {
    const result = compare([ai('pleural_effusion', 0.97, 'right')], 'FINDINGS: The lungs are clear. No pleural effusion.\nIMPRESSION: Normal chest.');
    expect(result.pleural_effusion).toMatchObject({ agreement: 'discrepancy', kind: 'ai-positive-report-absent', reportStatus: 'absent', reportSentence: 'No pleural effusion.' });
  });

  test('a confident AI finding the report does not mention is a discrepancy of its own kind', () => {
    const result = compare([ai('nodule', 0.98, 'left')], 'FINDINGS: Small right pleural effusion.\nIMPRESSION: Right pleural effusion.');
    expect(result.nodule).toMatchObject({ agreement: 'discrepancy', kind: 'ai-positive-report-silent', reportStatus: 'not_mentioned', reportSentence: null });
  });

  test('a study the report calls normal denies the findings it does not name', () => {
    const result = compare([ai('cardiomegaly', 0.96)], 'IMPRESSION: No acute cardiopulmonary abnormality.');
    expect(result.cardiomegaly).toMatchObject({ agreement: 'discrepancy', kind: 'ai-positive-report-absent', reportStatus: 'absent' });
    expect(result.cardiomegaly!.reportSentence).toMatch(/No acute cardiopulmonary abnormality/);
  });

  test('a finding the report states where the AI is confidently negative is a discrepancy', () => {
    const result = compare([ai('pneumothorax', 0.01)], 'FINDINGS: Small left apical pneumothorax.');
    expect(result.pneumothorax).toMatchObject({ agreement: 'discrepancy', kind: 'report-positive-ai-negative', reportStatus: 'present', reportSentence: 'Small left apical pneumothorax.' });
  });

  test('both sides of the table agree when the report and the AI make the same call', () => {
    const result = compare([ai('pleural_effusion', 0.95, 'right'), ai('pneumothorax', 0.02)], 'FINDINGS: Large right pleural effusion. No pneumothorax.');
    expect(result.pleural_effusion!.agreement).toBe('agree');
    expect(result.pneumothorax!.agreement).toBe('agree');
  });

  test('a hedged report ("cannot be excluded") is indeterminate, not a discrepancy', () => {
    const result = compare([ai('pneumothorax', 0.01)], 'FINDINGS: A small pneumothorax cannot be excluded.');
    expect(result.pneumothorax).toMatchObject({ agreement: 'indeterminate', reportStatus: 'uncertain' });
  });

  test('an AI call of moderate confidence never makes a discrepancy', () => {
    // 0.75 against 0.5: 1.1 log-odds, moderate.
    const result = compare([ai('nodule', 0.75)], 'FINDINGS: No nodule.');
    expect(result.nodule).toMatchObject({ agreement: 'indeterminate' });
    expect(result.nodule!.kind).toBeUndefined();
  });

  test('the report placing the finding only on the other side than the heatmap is a side discrepancy', () => {
    const result = compare([ai('pleural_effusion', 0.97, 'right')], 'FINDINGS: Left pleural effusion. No right pleural effusion.');
    expect(result.pleural_effusion).toMatchObject({ agreement: 'discrepancy', kind: 'side-disagrees' });
  });

  test('a bilateral effusion in the report agrees with a right-sided heatmap', () => {
    const result = compare([ai('pleural_effusion', 0.97, 'right')], 'FINDINGS: Bilateral pleural effusions.');
    expect(result.pleural_effusion!.agreement).toBe('agree');
  });

  test('the most probable positive image is the evidence when the study has several', () => {
    const result = compare([ai('pleural_effusion', 0.2, null, '1.2.3.1'), ai('pleural_effusion', 0.99, 'left', '1.2.3.2')], 'No pleural effusion.');
    expect(result.pleural_effusion!.evidence.sopInstanceUid).toBe('1.2.3.2');
  });

  test('codes are matched whether the AI writes them with dashes or underscores; others are left out', () => {
    expect(modelCodeOf('pleural-effusion')).toBe('pleural_effusion');
    expect(modelCodeOf('fracture')).toBeNull();
    expect(compareWithReport([ai('fracture', 0.99)], parseReport('No fracture.'))).toEqual([]);
  });
});
