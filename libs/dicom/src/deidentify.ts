import type { DataSet } from 'dicom-parser';
import { dataSetOf, type ParsedInstance } from './parse.ts';
import { Tag, type TagKey } from './tags.ts';

/**
 * The de-identified view of an instance's metadata that analysis gets (PS3.15 Annex E, Basic
 * Application Confidentiality Profile), as a DICOM JSON model object (PS3.18 F.2).
 *
 * Method: an allowlist. Only technical attributes that describe the image and its acquisition,
 * none of which the Basic Profile lists for removal, are kept (K), and, under two of the profile's
 * options, what a model's performance is measured by (per patient group and per device: the local
 * evaluation, monitoring): Retain Patient Characteristics keeps Patient's Sex and Patient's Age,
 * the age cleaned (C) to whole years with 90 and over written `090Y` (older ages identify; HIPAA
 * Safe Harbor), and Retain Device Identity keeps Manufacturer and Manufacturer's Model Name only
 * (not Device Serial Number or Station Name, which name one machine at one site); the study, series, instance
 * and frame-of-reference UIDs are replaced (U) by the caller's stable keyed mapping; Patient's
 * Name and ID are present but empty (Z); everything else — dates, times, names, descriptions,
 * device serials, private attributes, sequences — is removed (X). Removing all that is not known
 * to be safe is stricter than the profile's action table and cannot miss an attribute the table
 * lists. The method is recorded in the object itself (Patient Identity Removed, De-identification
 * Method and its code sequence, Longitudinal Temporal Information Modified) as the profile asks.
 *
 * Pixel data is out of scope here: Burned In Annotation is kept so that a consumer can tell
 * whether the pixels may still carry identifying text.
 */

type Vr = 'AS' | 'CS' | 'DS' | 'IS' | 'LO' | 'UI' | 'US';

/** Kept attributes: tag, VR, keyword (the keyword is for readers of the output and tests). */
const KEPT: ReadonlyArray<readonly [TagKey, Vr]> = [
  [Tag.SopClassUid, 'UI'],
  [Tag.ImageType, 'CS'],
  [Tag.Modality, 'CS'],
  [Tag.PresentationIntentType, 'CS'],
  [Tag.BodyPartExamined, 'CS'],
  [Tag.ViewPosition, 'CS'],
  [Tag.ImagerPixelSpacing, 'DS'],
  [Tag.DetectorType, 'CS'],
  [Tag.PatientOrientation, 'CS'],
  [Tag.Laterality, 'CS'],
  [Tag.ImageLaterality, 'CS'],
  [Tag.SamplesPerPixel, 'US'],
  [Tag.PhotometricInterpretation, 'CS'],
  [Tag.NumberOfFrames, 'IS'],
  [Tag.Rows, 'US'],
  [Tag.Columns, 'US'],
  [Tag.PixelSpacing, 'DS'],
  [Tag.BitsAllocated, 'US'],
  [Tag.BitsStored, 'US'],
  [Tag.HighBit, 'US'],
  [Tag.PixelRepresentation, 'US'],
  [Tag.PixelIntensityRelationship, 'CS'],
  [Tag.WindowCenter, 'DS'],
  [Tag.WindowWidth, 'DS'],
  [Tag.RescaleIntercept, 'DS'],
  [Tag.RescaleSlope, 'DS'],
  [Tag.RescaleType, 'LO'],
  [Tag.VoiLutFunction, 'CS'],
  [Tag.BurnedInAnnotation, 'CS'],
  [Tag.LossyImageCompression, 'CS'],
  [Tag.PresentationLutShape, 'CS'],
  // Retain Device Identity Option (in part): the make and model, not the serial or station.
  [Tag.Manufacturer, 'LO'],
  [Tag.ManufacturerModelName, 'LO'],
  // Retain Patient Characteristics Option: sex as written; age cleaned below (cleanPatientAge).
  [Tag.PatientSex, 'CS'],
];

const FRAME_OF_REFERENCE_UID = 'x00200052';
/** Replaced UIDs (action U). */
const REPLACED_UIDS: ReadonlyArray<TagKey | typeof FRAME_OF_REFERENCE_UID> = [Tag.StudyInstanceUid, Tag.SeriesInstanceUid, Tag.SopInstanceUid, FRAME_OF_REFERENCE_UID];

/** DICOM JSON model attribute (only the forms produced here). */
export type DicomJsonAttribute =
  | { vr: Exclude<Vr, 'US'> | 'PN' | 'SQ'; Value?: Array<string | number | Record<string, DicomJsonAttribute>> }
  | { vr: 'US'; Value?: number[] };
export type DicomJsonDataset = Record<string, DicomJsonAttribute>;

export const DEIDENTIFICATION_METHOD =
  "PS3.15 E.1 Basic Application Confidentiality Profile with the Retain Patient Characteristics (sex; age in whole years, 90 and over as 090Y) and Retain Device Identity (manufacturer and model name only) options: allowlist of technical attributes kept, UIDs replaced by a keyed hash, patient name and ID emptied, all else removed";

/** Patient's Age oldest written as such; older ages are written as this (they identify: HIPAA Safe Harbor). */
export const MAX_KEPT_AGE_YEARS = 90;

/**
 * Patient's Age (0010,1010) as kept: whole years (`047Y`; under a year `000Y`), 90 and over as
 * `090Y`; undefined for an absent or malformed value (dropped, not guessed).
 */
export function cleanPatientAge(value: string | undefined): string | undefined {
  const match = /^(\d{3})([DWMY])$/.exec((value ?? '').replace(/\0/g, '').trim().toUpperCase());
  if (!match) return undefined;
  const perYear = { D: 365.25, W: 52.1775, M: 12, Y: 1 }[match[2] as 'D' | 'W' | 'M' | 'Y'];
  const years = Math.min(MAX_KEPT_AGE_YEARS, Math.floor(Number(match[1]) / perYear));
  return `${String(years).padStart(3, '0')}Y`;
}

/** Longest string value kept; longer ones (hostile or broken files) are dropped. */
const MAX_VALUE_LENGTH = 1024;
const MAX_VALUES = 64;

export function deidentifyMetadata(instance: ParsedInstance, replaceUid: (uid: string) => string): DicomJsonDataset {
  const dataSet = dataSetOf(instance);
  const out: DicomJsonDataset = {};
  for (const [tag, vr] of KEPT) {
    const attribute = readAttribute(dataSet, tag, vr);
    if (attribute) out[jsonTag(tag)] = attribute;
  }
  const age = cleanPatientAge(dataSet.string(Tag.PatientAge));
  if (age) out[jsonTag(Tag.PatientAge)] = { vr: 'AS', Value: [age] };
  for (const tag of REPLACED_UIDS) {
    const uid = dataSet.string(tag)?.replace(/\0/g, '').trim();
    if (uid) out[jsonTag(tag)] = { vr: 'UI', Value: [replaceUid(uid)] };
  }
  // Z: present, empty.
  out[jsonTag(Tag.PatientName)] = { vr: 'PN' };
  out[jsonTag(Tag.PatientId)] = { vr: 'LO' };
  // The profile's record of what was done.
  out['00120062'] = { vr: 'CS', Value: ['YES'] }; // Patient Identity Removed
  out['00120063'] = { vr: 'LO', Value: [DEIDENTIFICATION_METHOD] }; // De-identification Method
  out['00120064'] = {
    vr: 'SQ',
    Value: [
      {
        '00080100': { vr: 'CS', Value: ['113100'] },
        '00080102': { vr: 'CS', Value: ['DCM'] },
        '00080104': { vr: 'LO', Value: ['Basic Application Confidentiality Profile'] },
      },
    ],
  }; // De-identification Method Code Sequence
  out['00280303'] = { vr: 'CS', Value: ['REMOVED'] }; // Longitudinal Temporal Information Modified
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

function jsonTag(tag: string): string {
  return tag.slice(1).toUpperCase();
}

function readAttribute(dataSet: DataSet, tag: string, vr: Vr): DicomJsonAttribute | undefined {
  const element = dataSet.elements[tag];
  if (!element || element.length === 0 || element.length > MAX_VALUE_LENGTH) return undefined;
  if (vr === 'US') {
    const count = Math.min(Math.floor(element.length / 2), MAX_VALUES);
    const values: number[] = [];
    for (let i = 0; i < count; i += 1) {
      const value = dataSet.uint16(tag, i);
      if (value !== undefined) values.push(value);
    }
    return values.length > 0 ? { vr, Value: values } : undefined;
  }
  const raw = dataSet.string(tag);
  if (raw === undefined) return undefined;
  const parts = raw
    .split('\\')
    .slice(0, MAX_VALUES)
    .map((part) => part.replace(/\0/g, '').trim());
  if (parts.every((p) => p.length === 0)) return undefined;
  if (vr === 'DS' || vr === 'IS') {
    const numbers = parts.map(Number);
    if (numbers.some((n) => !Number.isFinite(n))) return undefined; // malformed: dropped, not guessed
    return { vr, Value: numbers };
  }
  // Strings in the kept VRs are code strings, UIDs and short labels: printable ASCII only.
  if (parts.some((p) => !/^[\x20-\x7e]*$/.test(p))) return undefined;
  return { vr, Value: parts };
}
