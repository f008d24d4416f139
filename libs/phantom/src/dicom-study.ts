import { generateUid, writeGreyImageInstance } from '@cxr/dicom';
import { generatePhantom } from './phantom.ts';
import type { FindingSpec, Phantom, Tier } from './types.ts';

export interface ChestStudyOptions {
  seed: number;
  findings?: FindingSpec[];
  tier?: Tier;
  /** Image width in pixels (default 1024); height follows `aspect`. */
  size?: number;
  /** Height / width (default 1.2, as most chest detectors). */
  aspect?: number;
  modality?: 'DX' | 'CR';
  photometric?: 'MONOCHROME2' | 'MONOCHROME1';
  priority?: 'STAT' | 'ROUTINE';
  /** View Position (0018,5101), default PA. */
  viewPosition?: 'PA' | 'AP' | 'LL';
  /** Put the instance into an existing study (a late or additional image). */
  studyInstanceUid?: string;
  /** Patient's Sex (default O) and Patient's Age as an AS value (e.g. `045Y`; default absent). */
  patient?: { sex?: 'M' | 'F' | 'O'; age?: string };
  /** Manufacturer (default the writer's own) and Manufacturer's Model Name (default absent). */
  equipment?: { manufacturer?: string; modelName?: string };
  /** Changes the rendered pixels (0..1, in place) before they are written: a degraded detector. */
  degrade?: (pixels: Float32Array, width: number, height: number) => void;
  /** Order attributes (the clinical question): see writeGreyImageInstance's `order`. */
  order?: { reason?: string; requestedProcedureDescription?: string; history?: string };
  /** Patient ID (default `SYN` and the seed): the same ID on two studies makes one the other's prior. */
  patientId?: string;
  /** Study Date, YYYYMMDD (default today, UTC). */
  studyDate?: string;
}

export interface ChestStudy {
  phantom: Phantom;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  /** Synthetic identifiers written into the file; tests check they never reach a log. */
  patient: { id: string; name: string };
  accessionNumber: string;
  /** The Part 10 file. */
  file: Buffer;
}

/**
 * A synthetic chest radiograph as a PACS would send it: a phantom rendered at detector size
 * and written as a DX (or CR) instance with patient, study and series modules and fresh UIDs.
 * Used by tests, the demo and benchmarks.
 */
export function makeChestStudy(options: ChestStudyOptions): ChestStudy {
  const phantom = generatePhantom({
    seed: options.seed,
    size: options.size ?? 1024,
    aspect: options.aspect ?? 1.2,
    ...(options.tier ? { tier: options.tier } : {}),
    ...(options.findings ? { findings: options.findings } : {}),
  });
  options.degrade?.(phantom.pixels, phantom.width, phantom.height);
  const studyInstanceUid = options.studyInstanceUid ?? generateUid();
  const seriesInstanceUid = generateUid();
  const sopInstanceUid = generateUid();
  const patient = { id: options.patientId ?? `SYN${String(options.seed).padStart(6, '0')}`, name: `PHANTOM^SYNTHETIC${options.seed}` };
  const accessionNumber = `ACC${String(options.seed).padStart(7, '0')}`;
  const file = writeGreyImageInstance({
    image: { width: phantom.width, height: phantom.height, data: phantom.pixels },
    pixelSpacingMm: phantom.pixelSpacingMm,
    modality: options.modality ?? 'DX',
    photometric: options.photometric ?? 'MONOCHROME2',
    patient: { id: patient.id, name: patient.name, sex: options.patient?.sex ?? 'O', ...(options.patient?.age !== undefined ? { age: options.patient.age } : {}) },
    ...(options.equipment ? { equipment: options.equipment } : {}),
    study: {
      instanceUid: studyInstanceUid,
      accessionNumber,
      ...(options.studyDate ? { date: options.studyDate } : {}),
      description: 'CHEST PA (synthetic phantom)',
      ...(options.priority ? { priority: options.priority } : {}),
    },
    series: { instanceUid: seriesInstanceUid, number: 1, description: 'PA' },
    sopInstanceUid,
    bodyPart: 'CHEST',
    viewPosition: options.viewPosition ?? 'PA',
    ...(options.order ? { order: options.order } : {}),
  });
  return { phantom, studyInstanceUid, seriesInstanceUid, sopInstanceUid, patient, accessionNumber, file };
}
