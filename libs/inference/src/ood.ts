// Out-of-distribution detection on the model's own features: the Mahalanobis distance of an
// image's feature vector (a slice of one vision-graph output, named in the manifest's `ood`) from
// the mean of the training distribution, under its shrunk covariance. Chosen by measurement over an
// energy score on the logits and over other feature slices (models/reference-cxr/README.md).
//
// The statistics file (`ood.json` in the package, pinned by sha256 like every file) holds the mean
// and the Cholesky factor L of the precision matrix (P = L Lᵀ), so a score is one triangular
// product: d² = |Lᵀ (x - μ)|².
import { z } from 'zod';
import { ModelPackageError } from './errors.ts';

export const oodSpecSchema = z
  .object({
    method: z.literal('mahalanobis'),
    /** The statistics file (mean, precision factor), listed in `files`. */
    file: z.string().min(1),
    /** A vision-graph output of shape [N, D] and the slice of it that is the feature vector. */
    output: z.string().min(1),
    features: z.object({ start: z.number().int().nonnegative(), length: z.number().int().positive().max(4096) }).strict(),
    /** Scores above this are out of distribution. */
    threshold: z.number().positive(),
    /** The false-flag rate the threshold was chosen for, and the rate measured on held-out in-distribution images. */
    falseFlagRate: z.object({ target: z.number().min(0).max(0.05), heldOut: z.number().min(0).max(1), heldOutCount: z.number().int().positive() }).strict(),
    /** How it was fitted (command, training and held-out sets), for the model card. */
    fit: z.record(z.string(), z.unknown()),
    description: z.string().optional(),
  })
  .strict();
export type OodSpec = z.infer<typeof oodSpecSchema>;

export const oodStatisticsSchema = z
  .object({
    dimension: z.number().int().positive(),
    mean: z.array(z.number()),
    /** Row-major lower-triangular Cholesky factor of the precision matrix, dimension² values. */
    precisionCholesky: z.array(z.number()),
    shrinkage: z.number().min(0).max(1),
    trainingCount: z.number().int().positive(),
  })
  .strict()
  .refine((s) => s.mean.length === s.dimension && s.precisionCholesky.length === s.dimension * s.dimension, { message: 'mean and precisionCholesky must match dimension' });
export type OodStatistics = z.infer<typeof oodStatisticsSchema>;

export interface OodDetector {
  spec: OodSpec;
  /** The score of one feature vector (the whole output row; the detector takes its slice). */
  score(row: Float32Array | number[]): number;
}

export function createOodDetector(spec: OodSpec, bytes: Uint8Array): OodDetector {
  let stats: OodStatistics;
  try {
    stats = oodStatisticsSchema.parse(JSON.parse(Buffer.from(bytes).toString('utf8')));
  } catch (error) {
    throw new ModelPackageError(`${spec.file}: not valid out-of-distribution statistics (${(error as Error).message.slice(0, 300)})`, { cause: error });
  }
  if (stats.dimension !== spec.features.length) throw new ModelPackageError(`${spec.file}: dimension ${stats.dimension}, manifest ood.features.length ${spec.features.length}`);
  const D = stats.dimension;
  const mean = Float64Array.from(stats.mean);
  const L = Float64Array.from(stats.precisionCholesky);
  const diff = new Float64Array(D);
  return {
    spec,
    score(row) {
      const { start } = spec.features;
      if (row.length < start + D) throw new RangeError(`feature row has ${row.length} values, the detector needs ${start + D}`);
      for (let i = 0; i < D; i++) diff[i] = row[start + i]! - mean[i]!;
      // d² = Σ_j (Σ_{i≥j} L[i][j] diff[i])²  (Lᵀ diff)
      let d2 = 0;
      for (let j = 0; j < D; j++) {
        let s = 0;
        for (let i = j; i < D; i++) s += L[i * D + j]! * diff[i]!;
        d2 += s * s;
      }
      return Math.sqrt(d2);
    },
  };
}

/**
 * Fits the statistics on in-distribution feature vectors (already sliced): mean, covariance shrunk
 * towards a scaled identity (`(1-λ)Σ + λ·tr(Σ)/D·I`, so a few hundred images give a well-conditioned
 * estimate), its inverse, and that inverse's Cholesky factor.
 */
export function fitOodStatistics(vectors: ArrayLike<number>[], shrinkage: number): OodStatistics {
  const n = vectors.length;
  if (n < 2) throw new RangeError('need at least two vectors to fit');
  const D = vectors[0]!.length;
  const mean = new Float64Array(D);
  for (const v of vectors) for (let i = 0; i < D; i++) mean[i]! += v[i]! / n;
  const cov = new Float64Array(D * D);
  for (const v of vectors) {
    for (let i = 0; i < D; i++) {
      const di = v[i]! - mean[i]!;
      for (let j = 0; j <= i; j++) cov[i * D + j]! += (di * (v[j]! - mean[j]!)) / (n - 1);
    }
  }
  for (let i = 0; i < D; i++) for (let j = 0; j < i; j++) cov[j * D + i] = cov[i * D + j]!;
  let trace = 0;
  for (let i = 0; i < D; i++) trace += cov[i * D + i]!;
  for (let i = 0; i < D * D; i++) cov[i]! *= 1 - shrinkage;
  for (let i = 0; i < D; i++) cov[i * D + i]! += (shrinkage * trace) / D;
  const precision = invertSymmetric(cov, D);
  return { dimension: D, mean: Array.from(mean), precisionCholesky: Array.from(cholesky(precision, D)), shrinkage, trainingCount: n };
}

/** The smallest threshold that at most `rate` of the scores exceed (an upper empirical quantile). */
export function thresholdForFalseFlagRate(scores: number[], rate: number): number {
  const sorted = [...scores].sort((a, b) => a - b);
  const allowed = Math.floor(rate * sorted.length);
  return sorted[sorted.length - 1 - allowed]! * (1 + 1e-9);
}

function cholesky(a: Float64Array, D: number): Float64Array {
  const L = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * D + j]!;
      for (let k = 0; k < j; k++) s -= L[i * D + k]! * L[j * D + k]!;
      if (i === j) {
        if (s <= 0) throw new RangeError('matrix is not positive definite');
        L[i * D + i] = Math.sqrt(s);
      } else L[i * D + j] = s / L[j * D + j]!;
    }
  }
  return L;
}

/** Inverse of a symmetric positive-definite matrix through its Cholesky factor. */
function invertSymmetric(a: Float64Array, D: number): Float64Array {
  const L = cholesky(a, D);
  const inv = new Float64Array(D * D);
  const col = new Float64Array(D);
  for (let c = 0; c < D; c++) {
    // solve L y = e_c, then Lᵀ x = y
    for (let i = 0; i < D; i++) {
      let s = i === c ? 1 : 0;
      for (let k = 0; k < i; k++) s -= L[i * D + k]! * col[k]!;
      col[i] = s / L[i * D + i]!;
    }
    for (let i = D - 1; i >= 0; i--) {
      let s = col[i]!;
      for (let k = i + 1; k < D; k++) s -= L[k * D + i]! * inv[k * D + c]!;
      inv[i * D + c] = s / L[i * D + i]!;
    }
  }
  return inv;
}
