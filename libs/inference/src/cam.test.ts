import { describe, expect, test } from 'vitest';
import { classActivationMaps, parseCamWeights } from './cam.ts';
import { ModelPackageError } from './errors.ts';

describe('class activation maps', () => {
  const K = 2;
  const C = 3;
  const hw = 4;
  const weight = [
    [0.5, -1, 2],
    [0, 3, -0.25],
  ];
  const bias = [0.1, -2];
  const json = new TextEncoder().encode(JSON.stringify({ weight, bias }));

  test('a CAM is the classifier-weighted sum of the feature map plus the bias, at every position and for every image', () => {
    const N = 2;
    const features = Float32Array.from({ length: N * C * hw }, (_, i) => Math.sin(i * 1.7) * 3);
    const w = parseCamWeights(json, 'json', K, C, 'classifier.json');
    const logits = classActivationMaps(features, N, hw, w, false);
    const heat = classActivationMaps(features, N, hw, w, true);
    for (let n = 0; n < N; n++)
      for (let k = 0; k < K; k++)
        for (let p = 0; p < hw; p++) {
          let expected = bias[k]!;
          for (let c = 0; c < C; c++) expected += weight[k]![c]! * features[(n * C + c) * hw + p]!;
          expect(logits[(n * K + k) * hw + p]).toBeCloseTo(expected, 5);
          expect(heat[(n * K + k) * hw + p]).toBeCloseTo(1 / (1 + Math.exp(-expected)), 6);
        }
  });

  test('the mean of a CAM over the map is the logit of the global-average-pooled classifier', () => {
    const features = Float32Array.from({ length: C * hw }, (_, i) => (i % 5) * 0.7);
    const w = parseCamWeights(json, 'json', K, C, 'classifier.json');
    const maps = classActivationMaps(features, 1, hw, w, false);
    for (let k = 0; k < K; k++) {
      const gap = Array.from({ length: C }, (_, c) => features.subarray(c * hw, (c + 1) * hw).reduce((a, b) => a + b, 0) / hw);
      const logit = bias[k]! + gap.reduce((s, g, c) => s + weight[k]![c]! * g, 0);
      const mean = maps.subarray(k * hw, (k + 1) * hw).reduce((a, b) => a + b, 0) / hw;
      expect(mean).toBeCloseTo(logit, 5);
    }
  });

  test('reads the same weights from raw little-endian float32 (weight row-major, then bias)', () => {
    const raw = new Uint8Array(new Float32Array([...weight.flat(), ...bias]).buffer);
    const a = parseCamWeights(raw, 'float32-le', K, C, 'classifier.bin');
    const b = parseCamWeights(json, 'json', K, C, 'classifier.json');
    expect(a.weight).toEqual(b.weight);
    expect(a.bias).toEqual(b.bias);
  });

  test('refuses weights whose dimensions do not match the labels and channels, naming the file', () => {
    expect(() => parseCamWeights(json, 'json', 3, C, 'classifier.json')).toThrow(/^classifier\.json: weight must be 3 rows/);
    expect(() => parseCamWeights(json, 'json', K, 4, 'classifier.json')).toThrow(ModelPackageError);
    expect(() => parseCamWeights(new TextEncoder().encode('{"weight": [[1,2,3],[1,2,3]], "bias": [1]}'), 'json', K, C, 'c.json')).toThrow(/bias must be 2 finite numbers/);
    expect(() => parseCamWeights(new TextEncoder().encode('{"weight": [[1,2,null],[1,2,3]], "bias": [1, 2]}'), 'json', K, C, 'c.json')).toThrow(/finite numbers/);
    expect(() => parseCamWeights(new TextEncoder().encode('not json'), 'json', K, C, 'c.json')).toThrow(/^c\.json: not valid JSON/);
    expect(() => parseCamWeights(new Uint8Array(10), 'float32-le', K, C, 'c.bin')).toThrow(/^c\.bin: 10 bytes, expected 32/);
  });
});
