import { describe, expect, test } from 'vitest';
import { readLesionLocations, sideOfX, zoneOfHeight } from './report-location.ts';

describe('report location', () => {
  test('reads the side and zone of every nodule and mass sentence', () => {
    const text = 'A 14 mm nodule in the right upper zone. A 52 mm mass in the left lower zone. No pleural effusion.';
    expect(readLesionLocations(text)).toEqual([
      { code: 'nodule', side: 'right', zone: 'upper' },
      { code: 'mass', side: 'left', zone: 'lower' },
    ]);
  });

  test('finds no location in a text without a lesion sentence', () => {
    expect(readLesionLocations('No focal lung lesion. A small right pleural effusion blunting the costophrenic angle.')).toEqual([]);
  });

  test('maps heights to zones with the report service cut-offs and x to the patient side', () => {
    expect([0.2, 0.354, 0.356, 0.524, 0.526, 0.9].map(zoneOfHeight)).toEqual(['upper', 'upper', 'middle', 'middle', 'lower', 'lower']);
    expect([sideOfX(0.2), sideOfX(0.8)]).toEqual(['right', 'left']);
  });
});
