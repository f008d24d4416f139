import { describe, expect, test } from 'vitest';
import { DEFAULT_MODEL_SCOPE, modelScopeSchema, parsePatientAge, publishedModelScopeSchema } from './model-scope.ts';

describe('parsePatientAge', () => {
  test.each([
    ['045Y', 45],
    ['018M', 1.5],
    ['052W', 52 / 52.1775],
    ['010D', 10 / 365.25],
  ])('reads %s as %f years', (value, years) => {
    expect(parsePatientAge(value)).toBeCloseTo(years, 6);
  });

  test.each([[undefined], [''], ['45'], ['45Y'], ['045 Y'], ['0450Y'], ['045X']])('does not trust the malformed age %s', (value) => {
    expect(parsePatientAge(value)).toBeUndefined();
  });
});

describe('modelScopeSchema', () => {
  test('accepts the default scope and normalises values to upper case', () => {
    expect(modelScopeSchema.parse({ ...DEFAULT_MODEL_SCOPE, viewPositions: [' pa ', 'ap'] }).viewPositions).toEqual(['PA', 'AP']);
  });

  test('refuses a scope that reads multi-frame objects or has no modality', () => {
    expect(modelScopeSchema.safeParse({ ...DEFAULT_MODEL_SCOPE, singleFrame: false }).success).toBe(false);
    expect(modelScopeSchema.safeParse({ ...DEFAULT_MODEL_SCOPE, modalities: [] }).success).toBe(false);
  });

  test('a published scope names its model', () => {
    expect(publishedModelScopeSchema.safeParse({ scope: DEFAULT_MODEL_SCOPE, publishedAt: 'x' }).success).toBe(false);
  });
});
