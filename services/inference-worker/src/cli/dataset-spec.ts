// The `--evaluate` argument of model:publish (with `--labels` / `--reports` for a folder), checked
// before anything is uploaded. Kept apart from the evaluators, which load the evaluation harness (a
// development dependency of the worker).
import { existsSync, statSync } from 'node:fs';

const PHANTOMS = /^phantoms:(\d{1,9}):(\d{1,6})$/;

export class DatasetSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DatasetSpecError';
  }
}

/** Where a folder's truth comes from: a labels CSV (StudyInstanceUID,finding,label) or a folder of reports. */
export interface DatasetTruth {
  labelsCsv?: string;
  reportsDir?: string;
}

export type DatasetSpec =
  | { kind: 'phantoms'; seed: number; count: number }
  | { kind: 'folder'; datasetDir: string; labelsCsv: string; reportsDir?: undefined }
  | { kind: 'folder'; datasetDir: string; reportsDir: string; labelsCsv?: undefined };

const isDir = (path: string): boolean => existsSync(path) && statSync(path).isDirectory();
const isFile = (path: string): boolean => existsSync(path) && statSync(path).isFile();

/**
 * Reads the `--evaluate` argument: `phantoms:SEED:COUNT`, or a folder of DICOM studies with exactly
 * one source of truth (`--labels <csv>` or `--reports <folder>`).
 */
export function checkDatasetSpec(dataset: string, truth: DatasetTruth = {}): DatasetSpec {
  const match = PHANTOMS.exec(dataset.trim());
  if (match) {
    if (truth.labelsCsv !== undefined || truth.reportsDir !== undefined) throw new DatasetSpecError('--labels / --reports go with a folder of studies, not with --evaluate phantoms:SEED:COUNT (phantoms carry their own labels)');
    const count = Number(match[2]);
    if (count < 20) throw new DatasetSpecError('--evaluate phantoms:SEED:COUNT needs a COUNT of at least 20 (AUC over a handful of images says nothing)');
    return { kind: 'phantoms', seed: Number(match[1]), count };
  }
  if (isDir(dataset)) {
    if ((truth.labelsCsv === undefined) === (truth.reportsDir === undefined)) {
      throw new DatasetSpecError(`--evaluate ${dataset}: a folder of studies needs exactly one source of labels: --labels <csv> (StudyInstanceUID,finding,label) or --reports <folder>`);
    }
    if (truth.labelsCsv !== undefined) {
      if (!isFile(truth.labelsCsv)) throw new DatasetSpecError(`--labels ${truth.labelsCsv}: no such file`);
      return { kind: 'folder', datasetDir: dataset, labelsCsv: truth.labelsCsv };
    }
    if (!isDir(truth.reportsDir!)) throw new DatasetSpecError(`--reports ${truth.reportsDir}: no such folder`);
    return { kind: 'folder', datasetDir: dataset, reportsDir: truth.reportsDir! };
  }
  if (existsSync(dataset)) throw new DatasetSpecError(`--evaluate ${dataset}: expected a folder of DICOM studies or phantoms:SEED:COUNT, got a file`);
  throw new DatasetSpecError(`--evaluate ${dataset}: no such folder; expected a folder of DICOM studies (with --labels or --reports) or phantoms:SEED:COUNT (e.g. phantoms:9400000:500)`);
}
