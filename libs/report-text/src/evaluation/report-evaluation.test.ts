import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { findingMetrics } from './finding-metrics.ts';
import { openIXml, type FixtureRecord } from './openi-fixtures.test-helper.ts';
import { evaluateOpenIFolder } from './report-evaluation.ts';

describe('findingMetrics', () => {
  test('counts true and false positives and negatives per code', () => {
    const s = (...codes: string[]): Set<string> => new Set(codes);
    const metrics = findingMetrics(
      [
        { truth: s('a'), predicted: s('a') }, // a: TP
        { truth: s('a'), predicted: s() }, // a: FN
        { truth: s(), predicted: s('a', 'b') }, // a: FP, b: FP
        { truth: s('a'), predicted: s('a') }, // a: TP
      ],
      ['a', 'b', 'c'],
    );
    // a: TP 2, FP 1, FN 1 -> precision 2/3, recall 2/3, F1 2/3.
    expect(metrics.a).toEqual({ precision: 0.6667, recall: 0.6667, f1: 0.6667, positives: 3, predicted: 3, truePositives: 2, falsePositives: 1, falseNegatives: 1 });
    // b: never true, predicted once -> precision 0, recall 0 (there was nothing to find and it found something).
    expect(metrics.b).toMatchObject({ precision: 0, recall: 0, f1: 0, positives: 0, predicted: 1 });
    // c: neither true nor predicted anywhere -> nothing to get wrong.
    expect(metrics.c).toMatchObject({ precision: 1, recall: 1, f1: 1, positives: 0, predicted: 0 });
  });
});

const FIXTURES: Record<string, FixtureRecord> = {
  'r1.xml': {
    indication: 'Cough.',
    findings: 'Heart size is normal. Lungs are clear. No pleural effusion or pneumothorax.',
    impression: 'No acute cardiopulmonary abnormality.',
    major: ['normal'],
  },
  'r2.xml': {
    comparison: 'Prior radiograph.',
    findings: 'Small left pleural effusion. The heart is mildly enlarged.',
    impression: 'Left effusion and mild cardiomegaly.',
    major: ['Pleural Effusion/left/small', 'Cardiomegaly/mild'],
  },
  // The coding has an effusion the text does not: a false negative for pleural_effusion.
  'r3.xml': { findings: 'Mild cardiomegaly. Lungs clear.', impression: 'Cardiomegaly.', major: ['Cardiomegaly', 'Pleural Effusion/right'] },
  // The text hedges a pneumothorax the coding calls normal: a false positive for pneumothorax.
  'r4.xml': { findings: 'Cannot exclude a small right apical pneumothorax.', impression: 'Possible small pneumothorax.', major: ['normal'] },
  'r5.xml': { findings: 'Heart size normal.', impression: 'Normal.', major: ['No Indexing'] },
};

describe('evaluateOpenIFolder', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'openi-eval-'));
    for (const [name, record] of Object.entries(FIXTURES)) await writeFile(join(dir, name), openIXml(record));
    await writeFile(join(dir, 'broken.xml'), '<eCitation><MedlineCitation>');
    await writeFile(join(dir, 'notes.txt'), 'not a record');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('compares each coded record with its MeSH terms and reports the metrics per finding', async () => {
    const evaluation = await evaluateOpenIFolder(dir);
    expect(evaluation.reports).toBe(4);
    expect(evaluation.unindexed).toBe(1);
    expect(evaluation.skipped.map((s) => s.file)).toEqual(['broken.xml']);
    // normal: truth r1, r4; predicted r1 -> TP 1, FN 1.
    expect(evaluation.perFinding.normal).toMatchObject({ truePositives: 1, falsePositives: 0, falseNegatives: 1, precision: 1, recall: 0.5, f1: 0.6667 });
    // cardiomegaly: truth r2, r3; predicted r2, r3.
    expect(evaluation.perFinding.cardiomegaly).toMatchObject({ positives: 2, predicted: 2, f1: 1 });
    // pleural_effusion: truth r2, r3; predicted r2 -> TP 1, FN 1.
    expect(evaluation.perFinding.pleural_effusion).toMatchObject({ truePositives: 1, falseNegatives: 1, precision: 1, recall: 0.5 });
    // pneumothorax: truth none; predicted r4 (uncertain counts) -> FP 1.
    expect(evaluation.perFinding.pneumothorax).toMatchObject({ positives: 0, predicted: 1, precision: 0 });
  });

  test('the eval:reports command prints the table and writes the figures as JSON', async () => {
    const out = join(dir, 'figures', 'eval.json');
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'libs/report-text/src/cli/eval-reports.ts', '--dir', dir, '--out', out], {
      cwd: root,
    });
    expect(stdout).toMatch(/cardiomegaly\s+2\s+2\s+1\.000\s+1\.000\s+1\.000/);
    const json = JSON.parse(await readFile(out, 'utf8')) as { reports: number; perFinding: Record<string, { precision: number; recall: number; f1: number; positives: number }> };
    expect(json.reports).toBe(4);
    expect(json.perFinding['pleural_effusion']).toMatchObject({ precision: 1, recall: 0.5, f1: 0.6667, positives: 2 });
    expect(Object.keys(json.perFinding)).toContain('normal');
  });
});

// The real reports beside the repository, when present: every record must read; the figures
// themselves come from `npm run eval:reports`, not from a test.
const shared = fileURLToPath(new URL('../../../../../shared/openi-reports', import.meta.url));
describe.skipIf(!existsSync(shared))('the Open-i reports in ../shared (skipped when absent)', () => {
  test('every record is read and evaluated', async () => {
    const evaluation = await evaluateOpenIFolder(shared);
    expect(evaluation.skipped).toEqual([]);
    expect(evaluation.reports).toBeGreaterThan(0);
    expect(evaluation.outcomes).toHaveLength(evaluation.reports);
  });
});
