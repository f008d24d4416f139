// The phantom evaluation model:publish --evaluate phantoms:SEED:COUNT runs: the phantom evaluation
// of models/evaluation (the same @cxr/inference code the worker runs). A folder of a site's
// labelled studies goes to the local-dataset evaluation instead (dataset-evaluator.ts).
import { findingCodesOf, loadModelPackage } from '@cxr/inference';
import { asPresentation, auc, phantomFor } from '@cxr/model-evaluation';
import type { PublishEvaluator } from '../models/publish-gate.ts';
import { checkDatasetSpec } from './dataset-spec.ts';

/**
 * AUC per finding on fresh phantoms (256 px wide, as the reference model's evaluation), through the
 * package's `analyse` (the worker's code path). Images the scope checks refuse are left out. The
 * classification AUC only: `npm run eval` gives the full evaluation of a package.
 */
export const phantomEvaluator: PublishEvaluator = async (modelDir, dataset) => {
  const spec = checkDatasetSpec(dataset);
  if (spec.kind !== 'phantoms') throw new Error(`the phantom evaluation takes phantoms:SEED:COUNT, not ${dataset}`);
  const { seed, count } = spec;
  const pkg = await loadModelPackage(modelDir, { executionProviders: ['cpu'] });
  try {
    const codes = findingCodesOf(pkg.manifest);
    const cases = new Map(codes.map((code) => [code, { labels: [] as number[], scores: [] as number[] }]));
    for (let b = 0; b < count; b += 16) {
      const phantoms = Array.from({ length: Math.min(16, count - b) }, (_, i) => phantomFor(seed + b + i, 256));
      const results = await pkg.analyse(phantoms.map(asPresentation));
      results.forEach((result, i) => {
        if (!result.scope.inScope) return;
        const truth = phantoms[i]!.labels as Record<string, number | undefined>;
        for (const finding of result.findings) {
          const label = truth[finding.code];
          if (label === undefined) continue; // a finding the phantoms do not draw
          cases.get(finding.code)?.labels.push(label);
          cases.get(finding.code)?.scores.push(finding.probability);
        }
      });
    }
    return {
      dataset: `phantoms, seeds ${seed}..${seed + count - 1}`,
      perFinding: Object.fromEntries([...cases].filter(([, c]) => c.labels.length > 0).map(([code, c]) => [code, { auc: auc(c.labels, c.scores), count: c.labels.length }])),
    };
  } finally {
    await pkg.close();
  }
};
