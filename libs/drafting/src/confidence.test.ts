import { describe, expect, test } from 'vitest';
import { confidenceBand, HIGH_CONFIDENCE_LOG_ODDS, logit, MODERATE_CONFIDENCE_LOG_ODDS } from './confidence.ts';

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** The probability `d` log-odds away from `threshold` (d may be negative). */
const away = (threshold: number, d: number): number => sigmoid(logit(threshold) + d);
const tiny = 1e-9;

describe('confidenceBand', () => {
  test.each([0.088, 0.5, 0.673])('runs low, moderate, high on both sides of a threshold of %f, with the bands\' edges where documented', (threshold) => {
    for (const sign of [1, -1]) {
      expect(confidenceBand(away(threshold, sign * 0), threshold)).toBe('low');
      expect(confidenceBand(away(threshold, sign * (MODERATE_CONFIDENCE_LOG_ODDS - tiny)), threshold)).toBe('low');
      expect(confidenceBand(away(threshold, sign * (MODERATE_CONFIDENCE_LOG_ODDS + tiny)), threshold)).toBe('moderate');
      expect(confidenceBand(away(threshold, sign * (HIGH_CONFIDENCE_LOG_ODDS - tiny)), threshold)).toBe('moderate');
      expect(confidenceBand(away(threshold, sign * (HIGH_CONFIDENCE_LOG_ODDS + tiny)), threshold)).toBe('high');
    }
  });

  test.each([
    [0.999, 0.673, 'high'],
    [0.7, 0.673, 'low'],
    [0.2, 0.088, 'moderate'],
    [0.5, 0.088, 'high'],
    [0.01, 0.409, 'high'],
    [0.25, 0.409, 'low'],
    [0.15, 0.409, 'moderate'],
  ] as const)('calls probability %f against threshold %f %s', (probability, threshold, band) => {
    expect(confidenceBand(probability, threshold)).toBe(band);
  });

  test('measures in log-odds, so the same probability step means more near 0 or 1 than near the middle', () => {
    expect(confidenceBand(0.6, 0.5)).toBe('low');
    expect(confidenceBand(0.11, 0.01)).toBe('high');
  });

  test.each([
    [0, 0, 'low'],
    [1, 1, 'low'],
    [1, 0, 'high'],
    [0, 0.5, 'high'],
    [1, 0.5, 'high'],
    [Number.NaN, 0.5, 'low'],
  ] as const)('gives a band for the edge case probability %f, threshold %f (%s)', (probability, threshold, band) => {
    expect(confidenceBand(probability, threshold)).toBe(band);
  });
});
