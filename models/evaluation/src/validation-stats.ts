// The `validation` section of a model package manifest: per finding, the share of validation images
// called positive, the mean probability and the probability histogram. Live monitoring compares
// a deployment's rates with these (docs/model-package.md), so they are computed from the model's
// own outputs on its validation set, never typed by hand.
import { PROBABILITY_BINS, modelValidationSchema, probabilityBin, type ModelValidation } from '@cxr/contracts';
import type { ImageAnalysis } from '@cxr/inference';

/** Accumulates the outputs of the images the model read (out-of-scope images have no findings and are skipped). */
export class ValidationStats {
  private readonly counts = new Map<string, { images: number; positives: number; sum: number; bins: number[] }>();
  private read = 0;

  constructor(private readonly codes: readonly string[]) {
    for (const code of codes) this.counts.set(code, { images: 0, positives: 0, sum: 0, bins: new Array<number>(PROBABILITY_BINS).fill(0) });
  }

  add(result: Pick<ImageAnalysis, 'scope' | 'findings'>): void {
    if (!result.scope.inScope) return;
    this.read++;
    for (const finding of result.findings) {
      const c = this.counts.get(finding.code);
      if (!c) continue;
      c.images++;
      if (finding.positive) c.positives++;
      c.sum += finding.probability;
      c.bins[probabilityBin(finding.probability)]!++;
    }
  }

  /** The manifest section; throws when no image was read (nothing to state). */
  summary(dataset: string, computedAt: string, command?: string): ModelValidation {
    if (this.read === 0) throw new Error('no validation image was read by the model (all out of scope?): nothing to summarise');
    const round = (x: number): number => Number(x.toFixed(6));
    const findings: ModelValidation['findings'] = {};
    for (const code of this.codes) {
      const c = this.counts.get(code)!;
      if (c.images === 0) continue;
      findings[code] = {
        positiveRate: round(c.positives / c.images),
        meanProbability: round(c.sum / c.images),
        histogram: c.bins.map((n) => round(n / c.images)),
      };
    }
    return modelValidationSchema.parse({ dataset, count: this.read, computedAt, ...(command ? { command } : {}), findings });
  }
}
