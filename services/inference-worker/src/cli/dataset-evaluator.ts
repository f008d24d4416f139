// The evaluation behind model:publish --evaluate: phantoms (`phantoms:SEED:COUNT`, phantom-evaluator.ts)
// or a site's own folder of labelled DICOM studies, through the local-dataset evaluation of
// models/evaluation (`evaluateDataset`: ingest's and the worker's own image code, then the
// package's `analyse`). Both come from the evaluation harness, a development dependency of the
// worker: this module is loaded only when --evaluate is given.
import { evaluateDataset } from '@cxr/model-evaluation';
import type { DatasetEvaluation, PublishEvaluator } from '../models/publish-gate.ts';
import { checkDatasetSpec, type DatasetTruth } from './dataset-spec.ts';
import { phantomEvaluator } from './phantom-evaluator.ts';

/** Bootstrap rounds of the local evaluation's intervals: the gate compares point AUCs only. */
const GATE_BOOTSTRAP_ROUNDS = 50;

/**
 * A `PublishEvaluator` for `--evaluate`: phantoms, or a folder with the labels named in `truth`.
 * For a folder the unit is the study (its highest probability over the images the model read), and
 * a finding whose labels on the set are all one class has no AUC and is left out (on the same set
 * it is left out for both versions); a finding the new version does not report then counts as worse.
 */
export function datasetEvaluator(truth: DatasetTruth = {}, options: { threads?: number } = {}): PublishEvaluator {
  return async (modelDir, dataset) => {
    const spec = checkDatasetSpec(dataset, truth);
    if (spec.kind === 'phantoms') return phantomEvaluator(modelDir, dataset);
    const result = await evaluateDataset({
      datasetDir: spec.datasetDir,
      packageDir: modelDir,
      ...(spec.labelsCsv !== undefined ? { labelsCsv: spec.labelsCsv } : { reportsDir: spec.reportsDir }),
      bootstrapRounds: GATE_BOOTSTRAP_ROUNDS,
      ...(options.threads !== undefined ? { threads: options.threads } : {}),
    });
    const { studies } = result.summary;
    const perFinding: DatasetEvaluation['perFinding'] = {};
    for (const [code, m] of Object.entries(result.summary.perFinding)) {
      if (Number.isFinite(m.auc.value)) perFinding[code] = { auc: m.auc.value, count: m.count };
    }
    return {
      dataset: `${spec.datasetDir} (labels from ${spec.labelsCsv ?? spec.reportsDir}): ${studies.evaluated} of ${studies.inDataset} studies evaluated, ${studies.notRead} not read`,
      perFinding,
    };
  };
}
