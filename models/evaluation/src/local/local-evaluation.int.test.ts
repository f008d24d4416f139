// The local evaluation end to end, on the real reference package: a generated hospital-like set of
// DICOM phantoms in which one device make has a planted weakness, and the shared real radiographs
// (when present) for the out-of-distribution flag rate.
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { loadModelPackage, type ModelPackage } from '@cxr/inference';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { evaluateOodSet } from '../ood-evaluation.ts';
import { evaluateDataset, type LocalEvaluationResult } from './local-evaluation.ts';
import { writeLocalEvaluation } from './local-outputs.ts';
import { writePhantomDataset, type PhantomDatasetStudy } from './phantom-dataset.ts';

const WEAK = { manufacturer: 'Borealis Medical', modelName: 'BX-2', weak: true };
const DEVICES = [{ manufacturer: 'Acme Radiography', modelName: 'AR-100' }, WEAK, { manufacturer: 'Cobalt Imaging', modelName: 'C-Vision' }];
const REAL_CXR = fileURLToPath(new URL('../../../../../shared/real-cxr', import.meta.url));

let pkg: ModelPackage;
const dirs: string[] = [];

beforeAll(async () => {
  pkg = await loadModelPackage(referenceModelDir, { executionProviders: ['cpu'], intraOpNumThreads: 1 });
});

afterAll(async () => {
  await pkg?.close();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('evaluateDataset on DICOM phantoms where one device make has a planted weakness', () => {
  let studies: PhantomDatasetStudy[];
  let dir: string;
  let labelsCsv: string;
  let result: LocalEvaluationResult;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'local-eval-'));
    dirs.push(dir);
    const dataset = await writePhantomDataset({ dir, seed: 7_100_000, studiesPerDevice: 16, devices: DEVICES, paediatric: 2 });
    studies = dataset.studies;
    labelsCsv = dataset.labelsCsv;
    await writeFile(join(dataset.dicomDir, 'notes.txt'), 'not an image');
    result = await evaluateDataset({ datasetDir: dataset.dicomDir, package: pkg, labelsCsv, bootstrapRounds: 200 });
  }, 120_000);

  test('names the weak make, for nodules, as the largest subgroup gap', () => {
    const gap = result.summary.largestSubgroupGap!;
    expect(gap).not.toBeNull();
    expect(gap.finding).toBe('nodule');
    // Make and model name split the studies the same way here; the make is listed first.
    expect(gap.attribute).toBe('manufacturer');
    expect(gap.lower.group).toBe(WEAK.manufacturer);
    expect(gap.groups).toEqual([gap.higher.group, WEAK.manufacturer]);
    expect(gap.gap).toBeCloseTo(gap.higher.auc.value - gap.lower.auc.value, 12);
    expect(gap.gap).toBeGreaterThan(0.2);
    const byMake = result.summary.subgroups.manufacturer;
    for (const device of DEVICES.filter((d) => d !== WEAK)) expect(byMake[device.manufacturer]!.perFinding['nodule']!.auc.value).toBeGreaterThan(byMake[WEAK.manufacturer]!.perFinding['nodule']!.auc.value);
  });

  test('puts every study in the groups its files state, with counts, AUCs and intervals', () => {
    const s = result.summary.subgroups;
    const count = (pick: (st: PhantomDatasetStudy) => string, group: string) => studies.filter((st) => pick(st) === group).length;
    expect(s.sex['F']!.studies).toBe(count((st) => st.sex, 'F'));
    expect(s.sex['M']!.studies).toBe(count((st) => st.sex, 'M'));
    expect(s.viewPosition['AP']!.studies).toBe(count((st) => st.viewPosition, 'AP'));
    expect(s.manufacturerModelName[WEAK.modelName]!.studies).toBe(count((st) => st.device.modelName, WEAK.modelName));
    expect(Object.keys(s.ageBand).sort()).toEqual(['0-17', '18-39', '40-59', '60-79', '80+']);
    expect(s.ageBand['60-79']!.studies).toBe(count((st) => st.age, '070Y'));
    const nodule = s.ageBand['40-59']!.perFinding['nodule']!;
    expect(nodule.count).toBe(studies.filter((st) => st.age === '050Y').length);
    expect(nodule.positives).toBe(studies.filter((st) => st.age === '050Y' && st.nodule).length);
    expect(nodule.auc.lo).toBeLessThanOrEqual(nodule.auc.value);
    expect(nodule.auc.hi).toBeGreaterThanOrEqual(nodule.auc.value);
  });

  test('leaves the children out as not eligible by the default scope, and counts them', () => {
    expect(result.summary.instances.notEligible).toBe(2);
    expect(Object.keys(result.summary.instances.notEligibleReasons)[0]).toMatch(/patient age 10 years/);
    expect(result.summary.studies.notRead).toBe(2);
    expect(result.summary.subgroups.ageBand['0-17']).toMatchObject({ studies: 2, evaluated: 0 });
    expect(result.summary.perFinding['nodule']!.count).toBe(studies.length - 2);
    expect(result.summary.perFinding['nodule']!.positives).toBe(studies.filter((st) => st.nodule && st.age !== '010Y').length);
  });

  test('skips a file that is not DICOM and says why', () => {
    expect(result.summary.skippedFiles).toEqual({ count: 1, reasons: { 'not a DICOM file': 1 } });
  });

  test('reports the out-of-distribution flag rate as the refused share of the analysed images', () => {
    const ood = result.summary.outOfDistribution;
    expect(ood.images).toBe(result.summary.instances.analysed);
    expect(ood.flagRate).toBe(ood.flagged / ood.images);
    const bySex = Object.values(result.summary.subgroups.sex);
    expect(bySex.reduce((n, g) => n + g.outOfDistribution.flagged, 0)).toBe(ood.flagged);
  });

  test('writes JSON, Markdown and an SVG of ROC curves that hold no study or patient identifier', async () => {
    const paths = await writeLocalEvaluation(result, join(dir, 'out'));
    const json = await readFile(paths.json, 'utf8');
    const parsed = JSON.parse(json) as LocalEvaluationResult;
    expect(typeof parsed.summary.macroAuc).toBe('number');
    expect(parsed.summary.perFinding['nodule']!.auc.value).toBe(result.summary.perFinding['nodule']!.auc.value);
    expect(parsed.summary.largestSubgroupGap).toEqual(result.summary.largestSubgroupGap);
    const markdown = await readFile(paths.markdown, 'utf8');
    expect(markdown).toContain('largest subgroup gap: manufacturer for nodule');
    const svg = await readFile(paths.svg, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<path /g)!.length).toBeGreaterThanOrEqual(3);
    for (const st of studies) for (const text of [json, markdown, svg]) for (const id of [st.studyInstanceUid, st.patient.id, st.patient.name]) expect(text).not.toContain(id);
  });

  test('reads the labels from the studies\' report texts (--reports) and scores them as the CSV does', async () => {
    const reportsDir = join(dir, 'reports');
    await mkdir(reportsDir);
    for (const st of studies) await writeFile(join(reportsDir, `${st.studyInstanceUid}.txt`), st.report);
    const fromReports = await evaluateDataset({ datasetDir: join(dir, 'dicom'), package: pkg, reportsDir, bootstrapRounds: 200 });
    expect(fromReports.summary.labels.source).toBe('reports');
    expect(fromReports.summary.perFinding['nodule']!.positives).toBe(result.summary.perFinding['nodule']!.positives);
    expect(fromReports.summary.perFinding['nodule']!.auc.value).toBe(result.summary.perFinding['nodule']!.auc.value);
    expect(fromReports.summary.largestSubgroupGap?.lower.group).toBe(WEAK.manufacturer);
  }, 60_000);
});

describe.skipIf(!existsSync(REAL_CXR))('evaluateDataset on the real radiographs of ../shared/real-cxr (when present)', () => {
  test('reports as out of distribution exactly the images the package\'s scope checks refuse', async () => {
    // No labels: the studies are unlabelled, and only the scope figures are measured.
    const result = await evaluateDataset({ datasetDir: REAL_CXR, package: pkg, labels: new Map(), bootstrapRounds: 10 });
    const ood = result.summary.outOfDistribution;
    // The same folder read by the phantom evaluation's own DICOM reader (ood-evaluation.ts).
    const independent = await evaluateOodSet(pkg, REAL_CXR, []);
    expect(ood.images).toBe(independent.images);
    expect(ood.images).toBeGreaterThan(0);
    expect(ood.flagged).toBe(independent.flagged);
    expect(ood.flagRate).toBe(independent.flaggedShare);
    expect(result.summary.studies.unlabelled).toBe(result.summary.studies.inDataset);
    console.log(`real-cxr: ${ood.flagged} of ${ood.images} images flagged out of distribution (${JSON.stringify(ood.byCheck)})`);
  }, 120_000);
});
