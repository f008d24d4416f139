import { describe, expect, test } from 'vitest';
import { ValidationStats } from './validation-stats.ts';

const finding = (code: string, probability: number, threshold = 0.5) => ({ code, probability, positive: probability >= threshold });
const inScope = { inScope: true as const, score: null, limit: null };

describe('ValidationStats', () => {
  test('states each finding’s positive rate, mean probability and histogram over the images read', () => {
    const stats = new ValidationStats(['a', 'b']);
    stats.add({ scope: inScope, findings: [finding('a', 0.95), finding('b', 0.05)] } as never);
    stats.add({ scope: inScope, findings: [finding('a', 0.15), finding('b', 0.55)] } as never);
    stats.add({ scope: inScope, findings: [finding('a', 0.65), finding('b', 1)] } as never);
    stats.add({ scope: inScope, findings: [finding('a', 0.05), finding('b', 0.02)] } as never);
    const summary = stats.summary('four images', '2026-01-01T00:00:00.000Z');
    expect(summary.count).toBe(4);
    expect(summary.findings.a!.positiveRate).toBe(0.5);
    expect(summary.findings.a!.meanProbability).toBeCloseTo(0.45, 6);
    expect(summary.findings.a!.histogram).toEqual([0.25, 0.25, 0, 0, 0, 0, 0.25, 0, 0, 0.25]);
    // A probability of exactly 1 falls in the last bin.
    expect(summary.findings.b!.histogram[9]).toBe(0.25);
    expect(summary.findings.b!.positiveRate).toBe(0.5);
  });

  test('leaves out images the model refused as outside its scope', () => {
    const stats = new ValidationStats(['a']);
    stats.add({ scope: inScope, findings: [finding('a', 0.9)] } as never);
    stats.add({ scope: { inScope: false, check: 'blank', reason: 'blank', score: null, limit: null }, findings: [] } as never);
    expect(stats.summary('two', '2026-01-01T00:00:00.000Z')).toMatchObject({ count: 1, findings: { a: { positiveRate: 1 } } });
  });

  test('refuses to summarise when no image was read', () => {
    expect(() => new ValidationStats(['a']).summary('none', '2026-01-01T00:00:00.000Z')).toThrow(/no validation image/);
  });
});
