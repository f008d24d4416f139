// Precision, recall and F1 of predicted against true finding sets.
export interface FindingMetrics {
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  /** Reports where the truth has the finding. */
  readonly positives: number;
  /** Reports where the prediction has it. */
  readonly predicted: number;
  readonly truePositives: number;
  readonly falsePositives: number;
  readonly falseNegatives: number;
}

export interface LabelledPair<C extends string> {
  readonly truth: ReadonlySet<C>;
  readonly predicted: ReadonlySet<C>;
}

/**
 * Per-code metrics. With no predicted positives precision is 1 when there was nothing to find
 * and 0 otherwise; recall likewise with no true positives (so a code absent from both scores 1).
 */
export function findingMetrics<C extends string>(pairs: readonly LabelledPair<C>[], codes: readonly C[]): Record<C, FindingMetrics> {
  const result = {} as Record<C, FindingMetrics>;
  for (const code of codes) {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (const { truth, predicted } of pairs) {
      const t = truth.has(code);
      const p = predicted.has(code);
      if (t && p) tp += 1;
      else if (p) fp += 1;
      else if (t) fn += 1;
    }
    const precision = tp + fp === 0 ? (fn === 0 ? 1 : 0) : tp / (tp + fp);
    const recall = tp + fn === 0 ? (fp === 0 ? 1 : 0) : tp / (tp + fn);
    const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
    result[code] = {
      precision: round(precision),
      recall: round(recall),
      f1: round(f1),
      positives: tp + fn,
      predicted: tp + fp,
      truePositives: tp,
      falsePositives: fp,
      falseNegatives: fn,
    };
  }
  return result;
}

function round(value: number): number {
  return Math.round(value * 10_000) / 10_000;
}
