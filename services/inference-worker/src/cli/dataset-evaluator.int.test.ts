// The gate of model:publish --evaluate on a site's own folder: a generated folder of DICOM phantom
// studies with a labels CSV, evaluated through the local-dataset evaluation (ingest's and the
// worker's image code, the package's analyse) for the reference package and a worse copy of it.
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { writePhantomDataset, type PhantomDatasetStudy } from '@cxr/model-evaluation';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { compareEvaluations, type DatasetEvaluation } from '../models/publish-gate.ts';
import { datasetEvaluator } from './dataset-evaluator.ts';

let dir: string;
let dicomDir: string;
let labelsCsv: string;
let studies: PhantomDatasetStudy[];
let reference: DatasetEvaluation;

/** The reference package with its label codes rotated, so each output is read as another finding (a worse model). */
async function scrambledPackage(): Promise<string> {
  const out = join(dir, 'scrambled');
  await cp(referenceModelDir, out, { recursive: true, filter: (path) => !path.includes('training') && !path.includes('/src') });
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  const codes = manifest.labels.map((l: { code: string }) => l.code);
  manifest.labels.forEach((l: { code: string }, i: number) => (l.code = codes[(i + 1) % codes.length]));
  delete manifest.validation;
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return out;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'publish-dataset-'));
  const dataset = await writePhantomDataset({
    dir, seed: 9_610_000, studiesPerDevice: 16,
    devices: [{ manufacturer: 'Acme Radiography', modelName: 'AR-100' }, { manufacturer: 'Cobalt Imaging', modelName: 'C-Vision' }],
  });
  dicomDir = dataset.dicomDir;
  labelsCsv = dataset.labelsCsv;
  studies = dataset.studies;
  reference = await datasetEvaluator({ labelsCsv }, { threads: 1 })(referenceModelDir, dicomDir);
}, 120_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('evaluating a candidate on a folder of labelled DICOM studies', () => {
  test('gives an AUC per finding with both classes in the labels, over every study of the folder', () => {
    // The phantom set labels nodules both ways and every other finding negative: only nodule has an AUC.
    expect(Object.keys(reference.perFinding)).toEqual(['nodule']);
    expect(reference.perFinding['nodule']!.count).toBe(32);
    expect(reference.perFinding['nodule']!.auc).toBeGreaterThan(0.8);
    expect(reference.dataset).toMatch(/32 of 32 studies evaluated, 0 not read/);
  });

  test('passes the same package against itself and refuses a worse one', async () => {
    const again = await datasetEvaluator({ labelsCsv }, { threads: 1 })(referenceModelDir, dicomDir);
    const same = compareEvaluations(again, reference, 0.02);
    expect(same.passed).toBe(true);
    expect(same.findings.map((f) => [f.code, f.drop])).toEqual([['nodule', 0]]);

    const worse = await datasetEvaluator({ labelsCsv }, { threads: 1 })(await scrambledPackage(), dicomDir);
    const refused = compareEvaluations(worse, reference, 0.02);
    expect(refused.passed).toBe(false);
    expect(refused.reasons.join('; ')).toMatch(/^nodule: AUC .* vs running .* worse, margin 0\.02\)$/);
  }, 120_000);

  test('reads the truth from a folder of reports instead, with the same nodule labels as the CSV', async () => {
    const reports = join(dir, 'reports');
    await mkdir(reports);
    for (const study of studies) await writeFile(join(reports, `${study.studyInstanceUid}.txt`), study.report);
    const fromReports = await datasetEvaluator({ reportsDir: reports }, { threads: 1 })(referenceModelDir, dicomDir);
    expect(fromReports.perFinding['nodule']).toEqual(reference.perFinding['nodule']);
    expect(fromReports.dataset).toContain('labels from ' + reports);
  }, 120_000);
});
