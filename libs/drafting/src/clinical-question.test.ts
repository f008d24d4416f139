import { describe, expect, test } from 'vitest';
import { answerClinicalQuestion, readClinicalQuestion } from './clinical-question.ts';
import { composeDraftText, type DraftTextFinding, type DraftTextImage } from './draft-text.ts';
import { NORMAL_STUDY_IMPRESSION, REFERENCE_WORDING } from './sentence-grammar.ts';
import { checkReportText } from './text-checks.ts';

const DISPLAY: Record<string, string> = {
  nodule: 'Lung nodule', mass: 'Lung mass', pleural_effusion: 'Pleural effusion', cardiomegaly: 'Cardiomegaly', pneumothorax: 'Pneumothorax',
};

/** The reference model's five findings on one image, each negative far under threshold unless overridden. */
function findingsOf(overrides: Partial<Record<string, Partial<DraftTextFinding>>>): DraftTextFinding[] {
  return Object.keys(DISPLAY).map((code) => {
    const positive = overrides[code]?.positive ?? false;
    return {
      instanceKey: 'img1', code, display: DISPLAY[code]!, probability: positive ? 0.95 : 0.02, positive,
      confidence: 'high', side: null, zone: null, region: null, ...overrides[code],
    };
  });
}

const image = (text: { findings: string; impression: string }): DraftTextImage => ({ instanceKey: 'img1', width: 1000, height: 1000, text });

/** Composes the draft text as the report service does, then answers the question. */
function draftFor(indication: string, text: { findings: string; impression: string }, overrides: Parameters<typeof findingsOf>[0]) {
  const findings = findingsOf(overrides);
  const composed = composeDraftText([image(text)], findings, REFERENCE_WORDING);
  const answer = answerClinicalQuestion(composed.sections.impression, readClinicalQuestion(indication), findings, REFERENCE_WORDING);
  const sections = { findings: composed.sections.findings, impression: answer.impression };
  return { sections, answer, checks: checkReportText(sections, [image(text)], findings, REFERENCE_WORDING, { answers: true }) };
}

describe('readClinicalQuestion', () => {
  test.each([
    ['? pneumothorax', ['pneumothorax']],
    ['r/o effusion', ['pleural_effusion']],
    ['SOB, fever, ?pneumonia', ['consolidation']],
    ['Query PTX after line insertion', ['pneumothorax']],
    ['Follow-up of the right upper lobe nodule', ['nodule']],
    ['? pneumothorax. Also r/o effusion, ?pneumothorax again', ['pneumothorax', 'pleural_effusion']],
  ])('reads the findings asked about in "%s"', (indication, codes) => {
    expect(readClinicalQuestion(indication).topics.map((t) => t.code)).toEqual(codes);
  });

  test.each(['Chest pain', 'Cough for three days', 'Pre-operative assessment'])('finds no finding asked about in "%s"', (indication) => {
    expect(readClinicalQuestion(indication).topics).toEqual([]);
  });
});

describe('answerClinicalQuestion', () => {
  test('? pneumothorax with a confidently negative pneumothorax gives an explicit "No pneumothorax." first', () => {
    const { sections, answer, checks } = draftFor('? pneumothorax', { findings: 'The lungs are clear. Heart size is normal.', impression: 'No acute cardiopulmonary abnormality.' }, {});
    expect(sections.impression).toBe('No pneumothorax.\nNo acute cardiopulmonary abnormality.');
    expect(answer.edits).toEqual([expect.objectContaining({ section: 'impression', rule: 'answers-question', original: null, replacement: 'No pneumothorax.' })]);
    expect(checks).toEqual({ contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0 });
  });

  test('a positive finding asked about is stated first in the impression, even when the model wrote it last', () => {
    const { sections, checks } = draftFor(
      'r/o effusion',
      { findings: 'The heart is enlarged. A small right pleural effusion blunting the costophrenic angle.', impression: 'Cardiomegaly. Right pleural effusion.' },
      { cardiomegaly: { positive: true, side: 'midline' }, pleural_effusion: { positive: true, side: 'right', zone: 'lower' } },
    );
    expect(sections.impression).toBe('Right pleural effusion.\nCardiomegaly.');
    expect(checks.contradicting).toBe(0);
  });

  test('a borderline negative is neither a yes nor a no: it says the call is borderline', () => {
    const { sections, checks } = draftFor('?PTX', { findings: 'The lungs are clear.', impression: 'No acute cardiopulmonary abnormality.' }, { pneumothorax: { probability: 0.4, confidence: 'low' } });
    expect(sections.impression).toBe('Pneumothorax is not excluded: the AI call is borderline (low confidence).\nNo acute cardiopulmonary abnormality.');
    expect(sections.impression).not.toMatch(/^No pneumothorax/);
    expect(checks).toEqual({ contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0 });
  });

  test('a borderline positive is stated first and said to be borderline', () => {
    const { sections, checks } = draftFor(
      'query pneumothorax',
      { findings: 'A left apical pneumothorax with a visible pleural line.', impression: 'Left pneumothorax.' },
      { pneumothorax: { positive: true, probability: 0.6, confidence: 'low', side: 'left', zone: 'upper' } },
    );
    expect(sections.impression).toBe('Left pneumothorax. The AI call on pneumothorax is borderline (low confidence).');
    expect(checks.contradicting + checks.malformed).toBe(0);
  });

  test('never answers "No" for a finding the classifier calls positive on another image', () => {
    const findings = [
      ...findingsOf({}),
      { instanceKey: 'img2', code: 'pneumothorax', display: 'Pneumothorax', probability: 0.97, positive: true, confidence: 'high' as const, side: 'right' as const, zone: 'upper' as const, region: null },
    ];
    const answer = answerClinicalQuestion('Right pneumothorax.', readClinicalQuestion('? pneumothorax'), findings, REFERENCE_WORDING);
    expect(answer.impression).toBe('Right pneumothorax.');
    expect(answer.impression).not.toMatch(/No pneumothorax/);
  });

  test('moves the impression\'s own negation to the front rather than saying it twice', () => {
    const findings = findingsOf({ cardiomegaly: { positive: true, side: 'midline' } });
    const answer = answerClinicalQuestion('Cardiomegaly. No pneumothorax.', readClinicalQuestion('?ptx'), findings, null);
    expect(answer.impression).toBe('No pneumothorax.\nCardiomegaly.');
  });

  test('a question about a finding the model does not report on gets no invented answer', () => {
    const { sections, answer } = draftFor('SOB, fever, ?pneumonia', { findings: 'The lungs are clear.', impression: 'No acute cardiopulmonary abnormality.' }, {});
    expect(sections.impression).toBe('No acute cardiopulmonary abnormality.');
    expect(answer.edits).toEqual([]);
    expect(answer.answered).toEqual([]);
  });

  test('an indication with no question leaves the impression as it was', () => {
    const { sections } = draftFor('Chest pain', { findings: 'The lungs are clear.', impression: '' }, {});
    expect(sections.impression).toBe(NORMAL_STUDY_IMPRESSION);
  });

  test('answers each finding asked, in the order asked, before the rest of the impression', () => {
    const { sections, checks } = draftFor(
      '? effusion ? pneumothorax',
      { findings: 'A right apical pneumothorax with a visible pleural line. The heart is enlarged.', impression: 'Cardiomegaly. Right pneumothorax.' },
      { pneumothorax: { positive: true, side: 'right', zone: 'upper' }, cardiomegaly: { positive: true, side: 'midline' } },
    );
    expect(sections.impression).toBe('No pleural effusion. Right pneumothorax.\nCardiomegaly.');
    expect(checks.contradicting + checks.malformed).toBe(0);
  });
});
