// Class activation maps for a plain exported classifier, `logits = W · GAP(F) + b`: the worker reads
// the feature map F [N, C, h, w] from the graph and the classifier's weights from the package, and
// computes per label the spatial logit map Σ_c W[k,c]·F[c] + b[k], whose mean over the map is the
// label's logit. The heatmap is its sigmoid (0..1), as the reference model's graph heatmaps are.
import { ModelPackageError } from './errors.ts';

export interface CamWeights {
  labels: number;
  channels: number;
  /** Row-major [labels × channels]. */
  weight: Float32Array;
  bias: Float32Array;
}

/** Parses the weights file of a `cam` manifest (`json` or `float32-le`), checking its dimensions. */
export function parseCamWeights(bytes: Uint8Array, format: 'json' | 'float32-le', labels: number, channels: number, file: string): CamWeights {
  const weight = new Float32Array(labels * channels);
  const bias = new Float32Array(labels);
  if (format === 'float32-le') {
    const expected = labels * (channels + 1) * 4;
    if (bytes.length !== expected) throw new ModelPackageError(`${file}: ${bytes.length} bytes, expected ${expected} (${labels}×${channels} weights then ${labels} biases, float32)`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < weight.length; i++) weight[i] = view.getFloat32(i * 4, true);
    for (let k = 0; k < labels; k++) bias[k] = view.getFloat32((weight.length + k) * 4, true);
  } else {
    let json: unknown;
    try {
      json = JSON.parse(new TextDecoder().decode(bytes));
    } catch (err) {
      throw new ModelPackageError(`${file}: not valid JSON (${(err as Error).message})`, { cause: err });
    }
    const { weight: w, bias: b } = (json ?? {}) as { weight?: unknown; bias?: unknown };
    const numbers = (row: unknown, n: number): row is number[] => Array.isArray(row) && row.length === n && row.every((x) => typeof x === 'number' && Number.isFinite(x));
    if (!Array.isArray(w) || w.length !== labels || !w.every((row) => numbers(row, channels)))
      throw new ModelPackageError(`${file}: weight must be ${labels} rows (one per label) of ${channels} finite numbers`);
    if (!numbers(b, labels)) throw new ModelPackageError(`${file}: bias must be ${labels} finite numbers`);
    w.forEach((row: number[], k) => weight.set(row, k * channels));
    bias.set(b);
  }
  for (const x of weight) if (!Number.isFinite(x)) throw new ModelPackageError(`${file}: weights must be finite`);
  for (const x of bias) if (!Number.isFinite(x)) throw new ModelPackageError(`${file}: biases must be finite`);
  return { labels, channels, weight, bias };
}

/**
 * Class activation logit maps [N, labels, h, w] from a feature map [N, C, h, w]:
 * out[n,k] = Σ_c W[k,c]·F[n,c] + b[k]. `sigmoid: true` returns the heatmaps (0..1) instead.
 */
export function classActivationMaps(features: Float32Array, N: number, hw: number, weights: CamWeights, sigmoid: boolean, only?: readonly boolean[]): Float32Array {
  const { labels: K, channels: C, weight, bias } = weights;
  if (features.length !== N * C * hw) throw new RangeError(`feature map has ${features.length} values, expected ${N}×${C}×${hw}`);
  const out = new Float32Array(N * K * hw);
  const acc = new Float64Array(hw);
  for (let n = 0; n < N; n++) {
    const f = n * C * hw;
    for (let k = 0; k < K; k++) {
      if (only && !only[k]) continue; // a label not read: its map stays 0
      acc.fill(bias[k]!);
      const wk = k * C;
      for (let c = 0; c < C; c++) {
        const w = weight[wk + c]!;
        if (w === 0) continue;
        const fc = f + c * hw;
        for (let p = 0; p < hw; p++) acc[p] += w * features[fc + p]!;
      }
      const o = (n * K + k) * hw;
      for (let p = 0; p < hw; p++) out[o + p] = sigmoid ? 1 / (1 + Math.exp(-acc[p]!)) : acc[p]!;
    }
  }
  return out;
}
