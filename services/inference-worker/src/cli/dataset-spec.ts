// The `--evaluate` argument of model:publish, checked before anything is uploaded. Kept apart from
// the evaluator, which loads the evaluation harness (a development dependency of the worker).
import { existsSync } from 'node:fs';

const PHANTOMS = /^phantoms:(\d{1,9}):(\d{1,6})$/;

export class DatasetSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetSpecError';
  }
}

/** Checks the `--evaluate` argument before anything is uploaded. */
export function checkDatasetSpec(dataset: string): { seed: number; count: number } {
  const match = PHANTOMS.exec(dataset.trim());
  if (match) {
    const count = Number(match[2]);
    if (count < 20) throw new DatasetSpecError('--evaluate phantoms:SEED:COUNT needs a COUNT of at least 20 (AUC over a handful of images says nothing)');
    return { seed: Number(match[1]), count };
  }
  if (existsSync(dataset)) {
    throw new DatasetSpecError(`--evaluate ${dataset}: evaluating on a folder of local studies needs the local-dataset evaluation (evaluateDataset), which model:publish does not call yet; use phantoms:SEED:COUNT`);
  }
  throw new DatasetSpecError(`--evaluate ${dataset}: expected phantoms:SEED:COUNT (e.g. phantoms:9400000:500)`);
}
