import { describe, expect, test } from 'vitest';
import { splitSections } from './report-sections.ts';

const named = (text: string): [string, string | null, string][] => splitSections(text).map((s) => [s.name, s.heading, s.text]);

describe('splitSections', () => {
  test('finds headings at the start of lines, with their variants', () => {
    const text = [
      'CLINICAL HISTORY: Cough and fever.',
      'Comparison: Chest radiograph from last year.',
      'Technique: PA and lateral views.',
      'Findings:',
      'The lungs are clear.',
      'Conclusion: Normal chest.',
    ].join('\n');
    expect(named(text)).toEqual([
      ['indication', 'CLINICAL HISTORY', 'Cough and fever.'],
      ['comparison', 'Comparison', 'Chest radiograph from last year.'],
      ['technique', 'Technique', 'PA and lateral views.'],
      ['findings', 'Findings', 'The lungs are clear.'],
      ['impression', 'Conclusion', 'Normal chest.'],
    ]);
  });

  test('finds a capitalised heading inside a line flattened from a report', () => {
    const text = 'REASON FOR EXAM: shortness of breath FINDINGS: Heart size normal. No effusion. IMPRESSION: No acute process.';
    expect(named(text)).toEqual([
      ['indication', 'REASON FOR EXAM', 'shortness of breath'],
      ['findings', 'FINDINGS', 'Heart size normal. No effusion.'],
      ['impression', 'IMPRESSION', 'No acute process.'],
    ]);
  });

  test('finds a heading after a full stop in any case', () => {
    expect(named('The lungs are clear. Impression: normal study.').map((s) => s[0])).toEqual(['report', 'impression']);
  });

  test('keeps text before any heading as the report section', () => {
    expect(named('Heart size is normal. Lungs are clear.')).toEqual([['report', null, 'Heart size is normal. Lungs are clear.']]);
  });

  test('does not take a heading word inside a sentence for a heading', () => {
    expect(named('History of smoking. The prior study showed a nodule.').map((s) => s[0])).toEqual(['report']);
  });

  test('a heading alone on its line introduces the lines below it', () => {
    expect(named('FINDINGS\nNo pneumothorax.\n\nIMPRESSION\nNormal.')).toEqual([
      ['findings', 'FINDINGS', 'No pneumothorax.'],
      ['impression', 'IMPRESSION', 'Normal.'],
    ]);
  });

  test('gives offsets that point back into the report', () => {
    const text = 'INDICATION: chest pain\nFINDINGS: Small left effusion.';
    for (const section of splitSections(text)) expect(text.slice(section.start, section.start + section.text.length)).toBe(section.text);
  });
});
