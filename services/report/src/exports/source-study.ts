/**
 * The study a report is about, as the hospital knows it: patient and study attributes and the
 * source instances, read from the original DICOM in the originals bucket (the only identifiable
 * copy). The exports copy them into what they send back to the hospital's systems.
 *
 * Everything here is patient-identifying: it is never logged, and errors name no keys or values
 * (object keys under the originals bucket hold the Study Instance UID).
 */
import { objectKeys } from '@cxr/contracts';
import { parseInstance } from '@cxr/dicom';
import { ObjectNotFoundError, PermanentError, TransientError, type ObjectStore } from '@cxr/platform';
import { readHeaderAttributes, type NaturalDataset } from './part10.ts';

export interface SourceInstance {
  sopClassUid: string;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  modality: string | null;
  rows: number | null;
  columns: number | null;
  /** Patient Orientation (0020,0020) values, e.g. ['L', 'F']; empty when unknown. */
  patientOrientation: string[];
  /** Frame of Reference UID (0020,0052), when the image has one (most projection radiographs do not). */
  frameOfReferenceUid?: string | null;
  /** Row and column spacing in mm: Pixel Spacing, else Imager Pixel Spacing; null when neither is given. */
  pixelSpacingMm?: [number, number] | null;
}

export interface SourceStudy {
  studyInstanceUid: string;
  /** DICOM forms: name as PN ("Family^Given"), dates YYYYMMDD, sex M/F/O. Null when absent or empty. */
  patient: { id: string | null; issuerOfId: string | null; name: string | null; birthDate: string | null; sex: string | null };
  study: {
    date: string | null;
    time: string | null;
    id: string | null;
    accessionNumber: string | null;
    description: string | null;
    referringPhysicianName: string | null;
  };
  /** One per SOP Instance UID, in key order. */
  instances: SourceInstance[];
}

/** The study has no readable original DICOM (never received, or removed by retention). */
export class SourceStudyNotFoundError extends PermanentError {
  constructor() {
    super('no readable original DICOM instance of the study');
    this.name = 'SourceStudyNotFoundError';
  }
}

function text(value: unknown): string | null {
  const first = Array.isArray(value) ? value[0] : value;
  if (first === undefined || first === null) return null;
  if (typeof first === 'object') {
    // dcmjs gives person names as { Alphabetic, Ideographic, Phonetic }.
    const alphabetic = (first as { Alphabetic?: unknown }).Alphabetic;
    return typeof alphabetic === 'string' && alphabetic.trim() !== '' ? alphabetic.trim() : null;
  }
  const s = String(first).trim();
  return s === '' ? null : s;
}

function strings(value: unknown): string[] {
  if (value === undefined || value === null) return [];
  return (Array.isArray(value) ? value : [value]).map((v) => String(v).trim()).filter((v) => v !== '');
}

/** A two-valued DS spacing (row, column) in mm, or null when absent or not two positive numbers. */
function spacing(value: unknown): [number, number] | null {
  const values = strings(value).map(Number);
  return values.length === 2 && values.every((v) => Number.isFinite(v) && v > 0) ? [values[0]!, values[1]!] : null;
}

async function readObject(objects: ObjectStore, bucket: string, key: string): Promise<Buffer | null> {
  try {
    return await objects.get(bucket, key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) return null;
    throw new TransientError(`reading an original DICOM instance failed (${error instanceof Error ? error.name : 'error'})`);
  }
}

/**
 * Reads the originals of a study. Instances that no longer parse are skipped; the patient and
 * study attributes come from the first readable one (ingest files a study's instances under one
 * Study Instance UID; their patient modules agree unless the sender was inconsistent).
 */
export async function readSourceStudy(objects: ObjectStore, bucket: string, studyInstanceUid: string): Promise<SourceStudy> {
  let keys: string[];
  try {
    keys = (await objects.list(bucket, objectKeys.originalPrefix(studyInstanceUid))).filter((key) => key.endsWith('.dcm')).sort();
  } catch (error) {
    throw new TransientError(`listing the original DICOM of a study failed (${error instanceof Error ? error.name : 'error'})`);
  }
  const instances: SourceInstance[] = [];
  let header: NaturalDataset | null = null;
  for (const key of keys) {
    const bytes = await readObject(objects, bucket, key);
    if (!bytes) continue;
    let instance;
    let attributes: NaturalDataset;
    try {
      instance = parseInstance(bytes);
      attributes = readHeaderAttributes(bytes);
    } catch {
      // Ingest validated it once; one that no longer parses is left out rather than failing the export.
      continue;
    }
    if (instance.studyInstanceUid !== studyInstanceUid) continue;
    if (instances.some((known) => known.sopInstanceUid === instance.sopInstanceUid)) continue;
    header ??= attributes;
    instances.push({
      sopClassUid: instance.sopClassUid,
      sopInstanceUid: instance.sopInstanceUid,
      seriesInstanceUid: instance.seriesInstanceUid,
      modality: instance.modality ?? null,
      rows: instance.rows ?? null,
      columns: instance.columns ?? null,
      patientOrientation: strings(attributes.PatientOrientation),
      frameOfReferenceUid: text(attributes.FrameOfReferenceUID),
      pixelSpacingMm: spacing(attributes.PixelSpacing) ?? spacing(attributes.ImagerPixelSpacing),
    });
  }
  if (!header) throw new SourceStudyNotFoundError();
  return {
    studyInstanceUid,
    patient: {
      id: text(header.PatientID),
      issuerOfId: text(header.IssuerOfPatientID),
      name: text(header.PatientName),
      birthDate: text(header.PatientBirthDate),
      sex: text(header.PatientSex),
    },
    study: {
      date: text(header.StudyDate),
      time: text(header.StudyTime),
      id: text(header.StudyID),
      accessionNumber: text(header.AccessionNumber),
      description: text(header.StudyDescription),
      referringPhysicianName: text(header.ReferringPhysicianName),
    },
    instances,
  };
}

/** The Patient and General Study module attributes of a source study, for objects added to it. */
export function patientAndStudyModules(source: SourceStudy): NaturalDataset {
  const { patient, study } = source;
  return {
    PatientName: patient.name ? [{ Alphabetic: patient.name }] : '',
    PatientID: patient.id ?? '',
    ...(patient.issuerOfId ? { IssuerOfPatientID: patient.issuerOfId } : {}),
    PatientBirthDate: patient.birthDate ?? '',
    PatientSex: patient.sex ?? '',
    StudyInstanceUID: source.studyInstanceUid,
    StudyDate: study.date ?? '',
    StudyTime: study.time ?? '',
    ReferringPhysicianName: study.referringPhysicianName ? [{ Alphabetic: study.referringPhysicianName }] : '',
    StudyID: study.id ?? '',
    AccessionNumber: study.accessionNumber ?? '',
    ...(study.description ? { StudyDescription: study.description } : {}),
  };
}
