import { describe, expect, test } from 'vitest';
import type { DraftTextFinding, DraftTextImage } from './draft-text.ts';
import { composeDraftText } from './draft-text.ts';
import { REFERENCE_WORDING } from './sentence-grammar.ts';
import { checkReportText } from './text-checks.ts';

const CODES = ['nodule', 'mass', 'pleural_effusion', 'cardiomegaly', 'pneumothorax'];
const findingsWith = (positive: Record<string, Partial<DraftTextFinding>>): DraftTextFinding[] =>
  CODES.map((code) => ({ instanceKey: 'i', code, display: code, probability: code in positive ? 0.9 : 0.1, positive: code in positive, confidence: 'high', side: null, zone: null, region: null, ...positive[code] }));
const images: DraftTextImage[] = [{ instanceKey: 'i', width: 1000, height: 1000, text: { findings: '', impression: '' } }];

const ISSUE_TEXT = {
  findings:
    'A 49 mm mass in the right upper zone. A large mm mass in the right upper zone. A large mm mass in the left upper zone. ' +
    'A large mm mass in the left upper zone. A large right pleural effusion. No pneumothorax. Heart size is normal.',
  impression: 'Right upper zone mass.',
};

describe('checkReportText', () => {
  const mass = findingsWith({ mass: { side: 'right', zone: 'upper' } });

  test('counts the issue\'s real-image text: 3 malformed, 1 repeated, 2 contradicting, 1 unmeasured size', () => {
    // The effusion is stated in the findings (against the classifier) and missing from the impression: two contradictions.
    expect(checkReportText(ISSUE_TEXT, images, mass, REFERENCE_WORDING)).toEqual({ malformed: 3, repeated: 1, contradicting: 2, unmeasuredSizes: 1 });
  });

  test('counts nothing in the draft the rules make of it', () => {
    const fixed = composeDraftText([{ ...images[0]!, text: ISSUE_TEXT }], mass, REFERENCE_WORDING);
    expect(checkReportText(fixed.sections, images, mass, REFERENCE_WORDING)).toEqual({ malformed: 0, repeated: 0, contradicting: 0, unmeasuredSizes: 0 });
  });

  test('counts a "No X" sentence beside a positive X, and a normal impression beside it', () => {
    const text = { findings: 'No pneumothorax.', impression: 'No acute cardiopulmonary abnormality.' };
    expect(checkReportText(text, images, findingsWith({ pneumothorax: {} }), REFERENCE_WORDING).contradicting).toBe(2);
  });

  test('counts a finding stated in the impression but not in the findings', () => {
    const text = { findings: 'A large left pleural effusion.', impression: 'Left pleural effusion. Left pneumothorax.' };
    expect(checkReportText(text, images, findingsWith({ pleural_effusion: {}, pneumothorax: {} }), REFERENCE_WORDING).contradicting).toBe(1);
  });

  test('counts an impression sentence that places a finding elsewhere than the findings', () => {
    const text = { findings: 'A mass in the right lower zone.', impression: 'Left lower zone mass.' };
    expect(checkReportText(text, images, findingsWith({ mass: {} }), REFERENCE_WORDING).contradicting).toBe(1);
  });

  test('does not count a size that is the measured one', () => {
    const region = { x: 0.1, y: 0.1, width: 0.1, height: 0.1 };
    const measured = [{ ...images[0]!, pixelSpacingMm: 0.2 }];
    const nodule = findingsWith({ nodule: { side: 'right', zone: 'upper', region } });
    const text = (mm: number) => ({ findings: `A ${mm} mm nodule in the right upper zone.`, impression: 'Right upper zone nodule.' });
    expect(checkReportText(text(20), measured, nodule, REFERENCE_WORDING).unmeasuredSizes).toBe(0);
    expect(checkReportText(text(14), measured, nodule, REFERENCE_WORDING).unmeasuredSizes).toBe(1);
  });
});
