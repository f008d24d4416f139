// Binary classification and localisation metrics, with percentile bootstrap confidence intervals.
import { createRng } from '@cxr/phantom';

/** Mann–Whitney AUC (ties count half); NaN without both classes. */
export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  const idx = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let rankSumPos = 0;
  let nPos = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1]!] === scores[idx[i]!]) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++)
      if (labels[idx[k]!]) {
        rankSumPos += rank;
        nPos++;
      }
    i = j + 1;
  }
  const nNeg = labels.length - nPos;
  if (nPos === 0 || nNeg === 0) return Number.NaN;
  return (rankSumPos - (nPos * (nPos + 1)) / 2) / (nPos * nNeg);
}

export interface Confusion {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

export function confusion(labels: ArrayLike<number>, predicted: ArrayLike<boolean | number>): Confusion {
  const c = { tp: 0, fp: 0, tn: 0, fn: 0 };
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]! === 1;
    const p = Boolean(predicted[i]);
    if (y && p) c.tp++;
    else if (!y && p) c.fp++;
    else if (y) c.fn++;
    else c.tn++;
  }
  return c;
}

const ratio = (a: number, b: number): number => (b === 0 ? Number.NaN : a / b);

export function rates(c: Confusion): { accuracy: number; sensitivity: number; specificity: number; precision: number; f1: number } {
  return {
    accuracy: ratio(c.tp + c.tn, c.tp + c.tn + c.fp + c.fn),
    sensitivity: ratio(c.tp, c.tp + c.fn),
    specificity: ratio(c.tn, c.tn + c.fp),
    precision: ratio(c.tp, c.tp + c.fp),
    f1: ratio(2 * c.tp, 2 * c.tp + c.fp + c.fn),
  };
}

/** Expected calibration error with equal-width probability bins. */
export function calibrationError(labels: ArrayLike<number>, probs: ArrayLike<number>, bins = 10): number {
  const n = labels.length;
  const sum = new Float64Array(bins);
  const hit = new Float64Array(bins);
  const count = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const b = Math.min(bins - 1, Math.floor(probs[i]! * bins));
    sum[b]! += probs[i]!;
    hit[b]! += labels[i]!;
    count[b]!++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]) ece += (count[b]! / n) * Math.abs(sum[b]! / count[b]! - hit[b]! / count[b]!);
  return ece;
}

export interface Interval {
  value: number;
  lo: number;
  hi: number;
}

/** Percentile bootstrap (resampling cases) of a statistic over index sets. */
export function bootstrap(n: number, stat: (idx: Int32Array) => number, rounds: number, seed: number): Interval {
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const value = stat(all);
  const rng = createRng(seed);
  const vals: number[] = [];
  const idx = new Int32Array(n);
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < n; i++) idx[i] = Math.floor(rng.next() * n);
    const v = stat(idx);
    if (Number.isFinite(v)) vals.push(v);
  }
  vals.sort((a, b) => a - b);
  const q = (p: number): number => (vals.length ? vals[Math.min(vals.length - 1, Math.max(0, Math.floor(p * vals.length)))]! : Number.NaN);
  return { value, lo: q(0.025), hi: q(0.975) };
}

/** ROC curve points (fpr, tpr) from the highest threshold down. */
export function rocCurve(labels: ArrayLike<number>, scores: ArrayLike<number>): { fpr: number; tpr: number }[] {
  const idx = Array.from({ length: labels.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]!);
  let P = 0;
  for (let i = 0; i < labels.length; i++) P += labels[i]!;
  const N = labels.length - P;
  const pts = [{ fpr: 0, tpr: 0 }];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < idx.length; k++) {
    if (labels[idx[k]!]) tp++;
    else fp++;
    if (k + 1 === idx.length || scores[idx[k + 1]!] !== scores[idx[k]!]) pts.push({ fpr: N ? fp / N : 0, tpr: P ? tp / P : 0 });
  }
  return pts;
}
