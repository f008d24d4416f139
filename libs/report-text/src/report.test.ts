import { describe, expect, test } from 'vitest';
import { measurementsIn } from './finding-attributes.ts';
import { findingStatus, mentionsOf, parseReport, ReportTextError } from './report.ts';

describe('parseReport', () => {
  const report = parseReport(
    [
      'INDICATION: Shortness of breath, rule out pneumonia.',
      'COMPARISON: None.',
      'FINDINGS: The heart is mildly enlarged. There is a small right pleural effusion with adjacent atelectasis. No pneumothorax.',
      'IMPRESSION: Mild cardiomegaly and small right effusion. No focal consolidation.',
    ].join('\n'),
  );

  test('returns the text of each section by name', () => {
    expect(report.sections.indication).toBe('Shortness of breath, rule out pneumonia.');
    expect(report.sections.comparison).toBe('None.');
    expect(report.sections.impression).toBe('Mild cardiomegaly and small right effusion. No focal consolidation.');
    expect(report.sectionList.map((s) => s.name)).toEqual(['indication', 'comparison', 'findings', 'impression']);
  });

  test('says what the findings and impression say about each finding', () => {
    expect(findingStatus(report, 'cardiomegaly')).toBe('present');
    expect(findingStatus(report, 'pleural_effusion')).toBe('present');
    expect(findingStatus(report, 'atelectasis')).toBe('present');
    expect(findingStatus(report, 'pneumothorax')).toBe('absent');
    expect(findingStatus(report, 'nodule')).toBe('not_mentioned');
    expect(findingStatus(report, 'normal')).toBe('absent');
    expect(report.normal).toBe(false);
  });

  test('keeps the question in the indication out of the reading', () => {
    expect(report.mentions.some((m) => m.section === 'indication' && m.code === 'consolidation' && m.status === 'uncertain')).toBe(true);
    expect(findingStatus(report, 'consolidation')).toBe('absent');
  });

  test('gives the side of each mention of a finding', () => {
    expect(mentionsOf(report, 'pleural_effusion').map((m) => m.laterality)).toEqual(['right', 'right']);
  });

  test('reads a report given as sections', () => {
    const sectioned = parseReport({ findings: 'Cannot exclude a small left pneumothorax.', impression: 'Possible left apical pneumothorax.' });
    expect(findingStatus(sectioned, 'pneumothorax')).toBe('uncertain');
  });

  test('a hedged mention does not outweigh an asserted one', () => {
    expect(findingStatus(parseReport('FINDINGS: Possible small effusion. IMPRESSION: Small left pleural effusion.'), 'pleural_effusion')).toBe('present');
  });

  test('refuses input that is not report text, saying why', () => {
    expect(() => parseReport(42 as unknown as string)).toThrow(ReportTextError);
    expect(() => parseReport({ finding: 'typo' } as never)).toThrow(/unknown report section "finding"/);
    expect(() => parseReport({ findings: 7 } as never)).toThrow(/section "findings" must be text/);
  });
});

describe('the study-level normal call', () => {
  test.each([
    'FINDINGS: Heart size is normal. The lungs are clear. No pleural effusion or pneumothorax. IMPRESSION: No acute cardiopulmonary process.',
    'IMPRESSION: Normal chest radiograph.',
    'The cardiomediastinal silhouette is within normal limits. No focal consolidation, effusion or pneumothorax.',
    'FINDINGS: Lungs are clear. Heart size at the upper limits of normal. IMPRESSION: No active disease.',
    'FINDINGS: Pulmonary vascular markings are normal. Bony structures are intact. Pneumothorax: none. IMPRESSION: NAD.',
  ])('calls "%s" normal', (text) => {
    expect(parseReport(text).normal).toBe(true);
  });

  test.each([
    'FINDINGS: The lungs are clear. Mild cardiomegaly. IMPRESSION: No acute process.',
    'FINDINGS: No effusion. Calcified granuloma in the right upper lobe. IMPRESSION: No acute disease.',
    'FINDINGS: The lungs are clear. Degenerative changes of the thoracic spine. IMPRESSION: No acute cardiopulmonary abnormality.',
    'IMPRESSION: No pneumothorax. Possible small left effusion.',
    'IMPRESSION: Right PICC line tip in the SVC. Otherwise normal.',
    'FINDINGS: Lung volumes are low. No effusion. IMPRESSION: No acute disease.',
    'IMPRESSION: No change in chronic lung disease.',
  ])('does not call "%s" normal', (text) => {
    expect(parseReport(text).normal).toBe(false);
  });

  test('a report that says nothing about the image is not called normal', () => {
    expect(parseReport({ indication: 'Chest pain.', comparison: 'None.' }).normal).toBe(false);
  });
});

describe('measurementsIn', () => {
  test.each([
    ['8 mm', 8],
    ['1.2 cm', 12],
    ['2.5 x 1.5 cm', 25],
    ['12x8mm', 12],
    ['3 centimeters', 30],
    ['4 by 6 mm', 6],
  ])('reads "%s" as %d mm', (text, mm) => {
    expect(measurementsIn(`a ${text} nodule`).map((m) => m.mm)).toEqual([mm]);
  });

  test('ignores numbers without a unit', () => {
    expect(measurementsIn('rib 5 and T12 level, 2 views')).toEqual([]);
  });
});
