import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { LabelsError, parseLabelsCsv, readReportLabels } from './study-labels.ts';

const FINDINGS = ['nodule', 'mass', 'pleural_effusion', 'cardiomegaly', 'pneumothorax'];

describe('parseLabelsCsv', () => {
  test('reads StudyInstanceUID,finding,label rows into labels by study and finding', () => {
    const labels = parseLabelsCsv('StudyInstanceUID,finding,label\n1.2.3,nodule,1\n1.2.3,mass,0\r\n1.2.4,Nodule,0\n\n', FINDINGS);
    expect([...labels.keys()]).toEqual(['1.2.3', '1.2.4']);
    expect(Object.fromEntries(labels.get('1.2.3')!)).toEqual({ nodule: 1, mass: 0 });
    expect(labels.get('1.2.4')!.get('nodule')).toBe(0);
  });

  test('takes the columns in any order, quoted, with other columns ignored', () => {
    const labels = parseLabelsCsv('\uFEFFlabel,"note",finding,StudyInstanceUID\n1,"a, b",pneumothorax,"1.2.840.99"\n', FINDINGS);
    expect(labels.get('1.2.840.99')!.get('pneumothorax')).toBe(1);
  });

  test.each([
    ['a header without the label column', 'StudyInstanceUID,finding\n1.2.3,nodule', /header must name the columns/],
    ['a label that is not 0 or 1', 'StudyInstanceUID,finding,label\n1.2.3,nodule,yes', /line 2: label "yes" is not 0 or 1/],
    ['a finding the package does not read', 'StudyInstanceUID,finding,label\n1.2.3,fracture,1', /line 2: finding "fracture" is not one the package reads/],
    ['a value that is not a UID', 'StudyInstanceUID,finding,label\nDOE^JOHN,nodule,1', /line 2: .* is not a Study Instance UID/],
    ['the same finding of a study labelled 0 and 1', 'StudyInstanceUID,finding,label\n1.2.3,nodule,1\n1.2.3,nodule,0', /line 3: nodule of study 1.2.3 is labelled both 0 and 1/],
  ])('refuses %s, naming the line', (_, text, message) => {
    expect(() => parseLabelsCsv(text, FINDINGS)).toThrow(LabelsError);
    expect(() => parseLabelsCsv(text, FINDINGS)).toThrow(message);
  });
});

describe('readReportLabels', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  test('labels present findings 1, absent or unmentioned 0, and leaves uncertain ones out', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-labels-'));
    dirs.push(dir);
    await writeFile(join(dir, '1.2.3.txt'), 'FINDINGS: A 12 mm nodule in the right upper lobe. No pleural effusion.\nIMPRESSION: Right upper lobe nodule. Possible small pneumothorax.');
    await writeFile(join(dir, '1.2.4.txt'), 'FINDINGS: The lungs are clear. Heart size is normal.\nIMPRESSION: No acute cardiopulmonary abnormality.');
    await writeFile(join(dir, 'README.md'), 'not a report');
    const { labels, uncertain } = await readReportLabels(dir, FINDINGS);
    expect(Object.fromEntries(labels.get('1.2.3')!)).toEqual({ nodule: 1, mass: 0, pleural_effusion: 0, cardiomegaly: 0 });
    expect(uncertain).toEqual({ pneumothorax: 1 });
    expect(Object.fromEntries(labels.get('1.2.4')!)).toEqual({ nodule: 0, mass: 0, pleural_effusion: 0, cardiomegaly: 0, pneumothorax: 0 });
  });

  test('reads an Open-i XML record named by the Study Instance UID', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-labels-'));
    dirs.push(dir);
    await writeFile(
      join(dir, '1.2.5.xml'),
      `<?xml version="1.0"?><eCitation><MedlineCitation><Article><Abstract>
        <AbstractText Label="FINDINGS">Moderate left pleural effusion. The heart is enlarged.</AbstractText>
        <AbstractText Label="IMPRESSION">Left effusion and cardiomegaly.</AbstractText>
      </Abstract></Article></MedlineCitation><MeSH><major>Pleural Effusion/left</major></MeSH></eCitation>`,
    );
    const { labels } = await readReportLabels(dir, FINDINGS);
    expect(labels.get('1.2.5')!.get('pleural_effusion')).toBe(1);
    expect(labels.get('1.2.5')!.get('cardiomegaly')).toBe(1);
    expect(labels.get('1.2.5')!.get('nodule')).toBe(0);
  });

  test('refuses a report whose name is not a UID, and a folder without reports', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'report-labels-'));
    dirs.push(dir);
    await expect(readReportLabels(dir, FINDINGS)).rejects.toThrow(/no <StudyInstanceUID>.txt or .xml reports/);
    await writeFile(join(dir, 'smith-john.txt'), 'FINDINGS: Clear.');
    await expect(readReportLabels(dir, FINDINGS)).rejects.toThrow(/smith-john.txt: a report is named <StudyInstanceUID>/);
  });
});
