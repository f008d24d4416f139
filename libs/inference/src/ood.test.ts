import { describe, expect, test } from 'vitest';
import { ModelPackageError } from './errors.ts';
import { createOodDetector, fitOodStatistics, thresholdForFalseFlagRate, type OodSpec } from './ood.ts';

const spec = (length: number, start = 0): OodSpec => ({
  method: 'mahalanobis', file: 'ood.json', output: 'features', features: { start, length }, threshold: 3,
  falseFlagRate: { target: 0.01, heldOut: 0.01, heldOutCount: 100 }, fit: {},
});

/** A seeded normal sampler (Box-Muller over mulberry32). */
function normals(seed: number): () => number {
  let state = seed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = Math.imul(state ^ (state >>> 15), state | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967297;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

describe('the Mahalanobis out-of-distribution detector', () => {
  test('scores a point by its distance in standard deviations along correlated axes', () => {
    // x = (a, a + 0.1 b): strongly correlated; a step along the correlation is cheap, across it dear.
    const n = normals(1);
    const vectors = Array.from({ length: 20_000 }, () => {
      const a = n();
      return [a, a + 0.1 * n()];
    });
    const detector = createOodDetector(spec(2), Buffer.from(JSON.stringify(fitOodStatistics(vectors, 0))));
    expect(detector.score([0, 0])).toBeLessThan(0.05);
    expect(detector.score([1, 1])).toBeCloseTo(1, 1); // one SD along the correlation
    expect(detector.score([0, 0.1])).toBeCloseTo(1, 1); // one SD across it, though ten times closer
    expect(detector.score([1, -1])).toBeGreaterThan(20);
  });

  test('takes its slice of the output row', () => {
    const n = normals(2);
    const vectors = Array.from({ length: 2000 }, () => [n(), n(), n()]);
    const detector = createOodDetector(spec(3, 2), Buffer.from(JSON.stringify(fitOodStatistics(vectors, 0.01))));
    expect(detector.score([99, 99, 0, 0, 0])).toBeLessThan(0.2);
    expect(() => detector.score([0, 0, 0])).toThrow(RangeError);
  });

  test('on in-distribution data, about the chosen share of held-out points lies above the threshold', () => {
    const n = normals(3);
    const draw = (count: number) => Array.from({ length: count }, () => Array.from({ length: 16 }, () => n()));
    const detector = createOodDetector(spec(16), Buffer.from(JSON.stringify(fitOodStatistics(draw(5000), 0.01))));
    const threshold = thresholdForFalseFlagRate(draw(2000).map((v) => detector.score(v)), 0.01);
    const fresh = draw(20_000).map((v) => detector.score(v));
    const rate = fresh.filter((s) => s > threshold).length / fresh.length;
    expect(rate).toBeGreaterThan(0.004);
    expect(rate).toBeLessThan(0.02);
  });

  test('thresholdForFalseFlagRate lets at most that share of the scores exceed it', () => {
    const scores = Array.from({ length: 1000 }, (_, i) => i);
    const threshold = thresholdForFalseFlagRate(scores, 0.005);
    expect(scores.filter((s) => s > threshold).length).toBe(5);
  });

  test('refuses statistics that do not match the manifest, naming the file', () => {
    const stats = fitOodStatistics([[0, 1], [1, 0], [2, 2]], 0.1);
    expect(() => createOodDetector(spec(3), Buffer.from(JSON.stringify(stats)))).toThrow(/ood.json: dimension 2, manifest ood.features.length 3/);
    expect(() => createOodDetector(spec(2), Buffer.from('{"dimension": 2}'))).toThrow(ModelPackageError);
  });
});
