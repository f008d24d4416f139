// A labelled folder of DICOM phantom studies shaped like a hospital's: patients of both sexes and
// every adult age band, PA and AP views, three device makes, and a labels CSV. One make can be given
// a planted weakness: its nodules are drawn from the subtle tier (small, faint), the others' from
// the obvious tier, so a model that reads the others well misses more of them, and a subgroup
// analysis must find that make as the largest gap. For the local evaluation's tests and its demo.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeChestStudy } from '@cxr/phantom/dicom';

export interface PhantomDatasetDevice {
  manufacturer: string;
  modelName: string;
  /** This device's nodules are subtle-tier (the planted weakness); others' are obvious. */
  weak?: boolean;
}

export interface PhantomDatasetOptions {
  dir: string;
  seed: number;
  /** Studies per device; a multiple of 16 balances every other group against the devices. */
  studiesPerDevice: number;
  devices: PhantomDatasetDevice[];
  /** Image width (px); the height is 1.2 times it. Default 300. */
  size?: number;
  /** Extra studies of children (age 10), which the default scope does not read. Default 0. */
  paediatric?: number;
}

export interface PhantomDatasetStudy {
  studyInstanceUid: string;
  file: string;
  nodule: 0 | 1;
  sex: 'F' | 'M';
  age: string;
  viewPosition: 'PA' | 'AP';
  device: PhantomDatasetDevice;
  /** Synthetic identifiers in the file (a test checks they never reach the outputs). */
  patient: { id: string; name: string };
  /** The phantom's own report text (FINDINGS / IMPRESSION). */
  report: string;
}

const ADULT_AGES = ['025Y', '050Y', '070Y', '085Y'];

/**
 * Writes `<dir>/dicom/<n>.dcm` and `<dir>/labels.csv` (StudyInstanceUID,finding,label, every finding
 * of the phantom set labelled) and returns the studies. Within a device, study i is nodule-positive
 * when i is odd; sex, age band and view are cycled from i's other bits, so every group holds the
 * same share of each device.
 */
export async function writePhantomDataset(options: PhantomDatasetOptions): Promise<{ studies: PhantomDatasetStudy[]; labelsCsv: string; dicomDir: string }> {
  const dicomDir = join(options.dir, 'dicom');
  await mkdir(dicomDir, { recursive: true });
  const studies: PhantomDatasetStudy[] = [];
  let n = 0;
  const write = async (device: PhantomDatasetDevice, i: number, age: string): Promise<void> => {
    const nodule = (i & 1) as 0 | 1;
    const sex = (i >> 1) & 1 ? 'M' : 'F';
    const viewPosition = ((i >> 1) ^ (i >> 2)) & 1 ? 'AP' : 'PA';
    const study = makeChestStudy({
      seed: options.seed + n,
      size: options.size ?? 300,
      findings: nodule ? [{ code: 'nodule', tier: device.weak ? 'subtle' : 'obvious' }] : [],
      viewPosition,
      patient: { sex, age },
      equipment: { manufacturer: device.manufacturer, modelName: device.modelName },
    });
    const file = join(dicomDir, `${String(n).padStart(4, '0')}.dcm`);
    await writeFile(file, study.file);
    studies.push({
      studyInstanceUid: study.studyInstanceUid, file, nodule, sex, age, viewPosition, device, patient: study.patient,
      report: `FINDINGS: ${study.phantom.reportText.findings}\nIMPRESSION: ${study.phantom.reportText.impression}\n`,
    });
    n++;
  };
  for (const device of options.devices) for (let i = 0; i < options.studiesPerDevice; i++) await write(device, i, ADULT_AGES[(i >> 2) % ADULT_AGES.length]!);
  for (let i = 0; i < (options.paediatric ?? 0); i++) await write(options.devices[i % options.devices.length]!, i, '010Y');
  const findings = ['nodule', 'mass', 'pleural_effusion', 'cardiomegaly', 'pneumothorax'];
  const rows = studies.flatMap((s) => findings.map((f) => `${s.studyInstanceUid},${f},${f === 'nodule' ? s.nodule : 0}`));
  const labelsCsv = join(options.dir, 'labels.csv');
  await writeFile(labelsCsv, `StudyInstanceUID,finding,label\n${rows.join('\n')}\n`);
  return { studies, labelsCsv, dicomDir };
}
