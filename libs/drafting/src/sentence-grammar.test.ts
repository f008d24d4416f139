import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { FINDING_CODES, writeReport, type ReportFinding } from '@cxr/phantom';
import { NEGATES_EVERYTHING, NORMAL_STUDY_IMPRESSION, readSentence, REFERENCE_WORDING, structuralDefect, wordingFor, type ReadingContext } from './sentence-grammar.ts';
import { findingSentence } from './finding-sentence.ts';
import { splitSentences } from './sentences.ts';

const findings = FINDING_CODES.map((code) => ({ code, display: code === 'nodule' ? 'Lung nodule' : code === 'mass' ? 'Lung mass' : code }));
const reference: ReadingContext = { wording: REFERENCE_WORDING, findings };

/** Every report the phantom generator can write for one finding of each kind, on each side and zone. */
function phantomReports(): Array<{ findings: string; impression: string }> {
  const reports = [writeReport([])];
  for (const side of ['right', 'left'] as const) {
    for (const zone of ['upper', 'middle', 'lower'] as const) {
      for (const code of ['nodule', 'mass'] as const) reports.push(writeReport([{ code, side, zone, sizeMm: 23 }]));
    }
    for (const sizeMm of [15, 40, 70]) reports.push(writeReport([{ code: 'pleural_effusion', side, zone: 'lower', sizeMm }]));
    reports.push(writeReport([{ code: 'pneumothorax', side, zone: 'upper', sizeMm: 12 }, { code: 'cardiomegaly', side: null, zone: null, sizeMm: 150, ctr: 0.61 } as ReportFinding]));
  }
  return reports;
}

describe('the reference wording', () => {
  test('is the wording of the reference model package', () => {
    expect(wordingFor('reference-cxr')).toBe(REFERENCE_WORDING);
    expect(wordingFor('someone-elses-model')).toBeNull();
  });

  test('reads every sentence the phantom report writer produces as well formed, in its section', () => {
    for (const report of phantomReports()) {
      for (const section of ['findings', 'impression'] as const) {
        for (const { text } of splitSentences(report[section])) expect(readSentence(text, section, reference), `${section}: ${text}`).toMatchObject({ wellFormed: true });
      }
    }
  });

  test('uses only words of the reference decoder\'s closed vocabulary', () => {
    const manifest = JSON.parse(readFileSync(new URL('../../../models/reference-cxr/manifest.json', import.meta.url), 'utf8')) as { decoder: { vocabulary: string[] } };
    const vocabulary = new Set(manifest.decoder.vocabulary);
    for (const report of phantomReports()) {
      const words = `${report.findings} ${report.impression}`.replace(/([.,])(\s|$)/g, ' $1 ').split(/\s+/).filter(Boolean);
      for (const word of words) expect(vocabulary.has(word), word).toBe(true);
    }
  });

  test.each([
    ['A large mm mass in the right upper zone.', 'a unit without a number ("mm")'],
    ['A large mm mass in the left upper zone.', 'a unit without a number ("mm")'],
    ['A 49 mass in the right upper zone.', 'a number without a unit ("49")'],
    ['A 12 mm mm nodule in the right upper zone.', 'a word twice in a row ("mm")'],
    ['A nodule in the the right upper zone.', 'a word twice in a row ("the")'],
    ['A small right pleural effusion blunting the.', 'ends on a dangling word ("the")'],
    ['A large right pleural effusion', 'no closing full stop'],
    ['A large right pleural effusion. .', 'stray punctuation'],
    ['A large mass in the right upper zone.', "not one of the model's findings sentence forms"],
    ['A 30 mm mass in the right zone.', "not one of the model's findings sentence forms"],
    ['Right upper zone mass.', "not one of the model's findings sentence forms"],
  ])('%j is malformed: %s', (sentence, defect) => {
    expect(readSentence(sentence, 'findings', reference)).toMatchObject({ wellFormed: false, defect });
  });

  test('A 49 mm mass in the right upper zone. is well formed and states a right upper zone mass of 49 mm', () => {
    const reading = readSentence('A 49 mm mass in the right upper zone.', 'findings', reference);
    expect(reading).toMatchObject({ wellFormed: true, form: 'lesion', meaning: { asserts: [{ code: 'mass', side: 'right', zone: 'upper' }], size: { kind: 'mm', value: 49, code: 'mass' } } });
    expect(reading.meaning.rewrite!(null)).toBe('A mass in the right upper zone.');
    expect(reading.meaning.rewrite!(31)).toBe('A 31 mm mass in the right upper zone.');
  });

  test.each([
    ['The lungs are clear.', ['nodule', 'mass', 'pleural_effusion', 'pneumothorax']],
    ['No focal lung lesion.', ['nodule', 'mass']],
    ['No pleural effusion.', ['pleural_effusion']],
    ['No pneumothorax.', ['pneumothorax']],
    ['Heart size is normal.', ['cardiomegaly']],
  ])('%j negates %j', (sentence, codes) => {
    expect(readSentence(sentence, 'findings', reference).meaning.negates).toEqual(codes);
  });

  test('the normal impressions negate every finding', () => {
    for (const sentence of ['No acute cardiopulmonary abnormality.', NORMAL_STUDY_IMPRESSION]) {
      expect(readSentence(sentence, 'impression', reference).meaning).toMatchObject({ negates: [NEGATES_EVERYTHING], normal: true });
    }
  });

  test('the templated finding sentence is a form of every section and every model', () => {
    const sentence = findingSentence({ display: 'Lung nodule', side: 'bilateral', zone: 'lower', confidence: 'low' });
    for (const wording of [REFERENCE_WORDING, null]) {
      for (const section of ['findings', 'impression'] as const) {
        expect(readSentence(sentence, section, { wording, findings })).toMatchObject({ wellFormed: true, form: 'templated finding', meaning: { asserts: [{ code: 'nodule', side: 'bilateral', zone: 'lower' }] } });
      }
    }
  });
});

describe('structuralDefect', () => {
  test.each([
    'Blunting of the right costophrenic angle.',
    'The heart is enlarged, with a cardiothoracic ratio of 0.62.',
    'A 1.5 cm nodule in the left lung.',
    '1. Right pleural effusion.',
    'No pneumothorax.',
  ])('finds nothing wrong with %j', (sentence) => {
    expect(structuralDefect(sentence)).toBeNull();
  });

  test.each([
    ['A large mm mass in the right upper zone.', 'a unit without a number ("mm")'],
    ['mass in the right upper zone.', 'does not start with a capital letter'],
    ['.', 'no words'],
  ])('finds %j at fault: %s', (sentence, defect) => {
    expect(structuralDefect(sentence)).toBe(defect);
  });
});
