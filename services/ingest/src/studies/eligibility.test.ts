import { describe, expect, test } from 'vitest';
import { decideEligibility, type EligibilityInput } from './eligibility.ts';

const rules = { modalities: ['CR', 'DX'], bodyParts: ['CHEST', ''], viewPositions: ['PA', 'AP', ''], photometricInterpretations: ['MONOCHROME1', 'MONOCHROME2'] };
const chestPa: EligibilityInput = { sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', modality: 'DX', bodyPartExamined: 'CHEST', viewPosition: 'PA', photometricInterpretation: 'MONOCHROME2', hasPixelData: true, numberOfFrames: 1 };

describe('decideEligibility', () => {
  test('analyses a frontal chest radiograph', () => {
    expect(decideEligibility(rules, chestPa)).toEqual({ eligible: true });
  });

  test('accepts a radiograph whose body part is absent when the rules allow it', () => {
    expect(decideEligibility(rules, { ...chestPa, bodyPartExamined: undefined })).toEqual({ eligible: true });
  });

  test.each([
    [{ hasPixelData: false }, /no pixel data/],
    [{ modality: 'CT' }, /modality CT/],
    [{ bodyPartExamined: 'KNEE' }, /body part KNEE/],
    [{ viewPosition: 'LL' }, /view position LL/],
    [{ photometricInterpretation: 'RGB' }, /photometric interpretation RGB/],
    [{ numberOfFrames: 30 }, /30 frames/],
  ])('refuses %o with a reason', (change, reason) => {
    const decision = decideEligibility(rules, { ...chestPa, ...change });
    expect(decision.eligible).toBe(false);
    expect(decision.eligible ? '' : decision.reason).toMatch(reason);
  });
});
