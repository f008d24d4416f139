import { describe, expect, test } from 'vitest';
import { DEFAULT_MODEL_SCOPE, type ModelScope } from '@cxr/contracts';
import { decideEligibility, type EligibilityInput } from './eligibility.ts';

const scope: ModelScope = { ...DEFAULT_MODEL_SCOPE };
const chestPa: EligibilityInput = {
  sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', modality: 'DX', bodyPartExamined: 'CHEST', viewPosition: 'PA', photometricInterpretation: 'MONOCHROME2',
  hasPixelData: true, numberOfFrames: 1, rows: 2048, columns: 2048, patientAgeYears: 45,
};

describe('decideEligibility by the model scope', () => {
  test('analyses a frontal chest radiograph of an adult', () => {
    expect(decideEligibility(scope, chestPa)).toEqual({ eligible: true });
  });

  test.each([['bodyPartExamined'], ['viewPosition'], ['modality'], ['patientAgeYears']] as const)(
    'leaves an image whose %s is absent to the pixel checks instead of refusing it',
    (attribute) => {
      expect(decideEligibility(scope, { ...chestPa, [attribute]: undefined })).toEqual({ eligible: true });
    },
  );

  test('treats Rows and Columns recorded as 0 as absent, not as a tiny image', () => {
    expect(decideEligibility(scope, { ...chestPa, rows: 0, columns: 0 })).toEqual({ eligible: true });
  });

  test.each([
    [{ hasPixelData: false }, /no pixel data/],
    [{ modality: 'CT' }, /modality CT is outside the model's scope \(CR, DX\)/],
    [{ bodyPartExamined: 'KNEE' }, /body part KNEE/],
    [{ viewPosition: 'LL' }, /view position LL is outside/],
    [{ viewPosition: 'lat' }, /view position LAT/],
    [{ photometricInterpretation: 'RGB' }, /colour image/],
    [{ photometricInterpretation: 'PALETTE COLOR' }, /colour image/],
    [{ numberOfFrames: 30 }, /30 frames/],
    [{ rows: 64, columns: 64 }, /64x64 pixels/],
    [{ patientAgeYears: 4 }, /patient age 4 years is outside the model's scope \(18\+ years\)/],
    [{ patientAgeYears: 0.5 }, /patient age 6 months/],
  ])('refuses %o with its reason', (change, reason) => {
    const decision = decideEligibility(scope, { ...chestPa, ...change });
    expect(decision.eligible).toBe(false);
    expect(decision.eligible ? '' : decision.reason).toMatch(reason);
  });

  test('follows the scope of the package, not a fixed list: a model for laterals reads LL', () => {
    const lateralModel: ModelScope = { ...scope, viewPositions: ['LL', 'RL'] };
    expect(decideEligibility(lateralModel, { ...chestPa, viewPosition: 'LL' })).toEqual({ eligible: true });
    expect(decideEligibility(lateralModel, chestPa).eligible).toBe(false);
  });
});
