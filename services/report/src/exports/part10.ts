/**
 * Writing and reading DICOM Part 10 objects for the exports, with dcmjs's naturalised data sets
 * (attributes named by DICOM keyword, so no raw tags here; @cxr/dicom's small writer has no
 * dictionary for the SR attributes and only Latin-1 text).
 *
 * Choices, and why:
 * - dcmjs encodes every string as UTF-8. Specific Character Set is therefore ISO_IR 192 when a
 *   value is not plain ASCII, and left out (default repertoire) when all are: DCMTK 3.6's VR checker
 *   warns on ISO_IR 192, so ASCII-only objects (the usual case) read back without any warning.
 * - dcmjs logs through its own logger, and some of its warnings quote attribute values (patient
 *   names): it is silenced, on first use. It also cuts over-long values silently, so the values composed here
 *   are fitted to their VR first (`fitText`); copied identifiers come from a valid object.
 * - Exported objects get UIDs derived from what they are (study, revision, image, finding), so
 *   exporting the same thing twice gives the same SOP Instance UID and a PACS keeps one copy.
 */
import { createHash } from 'node:crypto';
import dcmjs, { type NaturalDataset } from 'dcmjs';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, TransferSyntax, UUID_UID_ROOT } from '@cxr/dicom';

const { DicomDict, DicomMessage, DicomMetaDictionary } = dcmjs.data;

export type { NaturalDataset };

let dcmjsSilenced = false;

/**
 * dcmjs's logger is process-wide: it is silenced when this module first reads or writes with dcmjs,
 * not when the module is imported (importing it changes nothing).
 */
function silenceDcmjs(): void {
  if (dcmjsSilenced) return;
  dcmjs.log.setLevel('silent');
  dcmjsSilenced = true;
}

/** An export could not be encoded (a value too long for its VR, a malformed UID): our bug or bad input, not worth retrying. */
export class ExportEncodingError extends Error {
  readonly permanent = true;
  constructor(message: string) {
    super(message);
    this.name = 'ExportEncodingError';
  }
}

/** Maximum lengths (characters) of the short string VRs the exports write. */
const MAX_LENGTH = { LO: 64, SH: 16, CS: 16, PN: 64, ST: 1024 } as const;

/** Cuts a free-text value to fit a VR (for descriptions we compose; never used on identifiers). */
export function fitText(value: string, vr: keyof typeof MAX_LENGTH): string {
  const max = MAX_LENGTH[vr];
  const clean = value.replaceAll('\\', '/').replace(/[\r\n]+/g, ' ');
  return clean.length <= max ? clean : `${clean.slice(0, max - 3)}...`;
}

function hasNonAscii(value: unknown): boolean {
  if (typeof value === 'string') return /[^\x20-\x7e\r\n\t\f]/.test(value);
  if (Array.isArray(value)) return value.some(hasNonAscii);
  if (value !== null && typeof value === 'object' && !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value)) {
    return Object.values(value).some(hasNonAscii);
  }
  return false;
}

/** Keywords dcmjs would drop without a word (it only logs them): a typo here must fail loudly. */
function unknownKeywords(dataset: NaturalDataset, found: string[] = []): string[] {
  for (const [name, value] of Object.entries(dataset)) {
    if (name === '_vrMap') continue;
    if (!(name in DicomMetaDictionary.nameMap)) found.push(name);
    if (Array.isArray(value)) {
      for (const item of value) {
        if (item !== null && typeof item === 'object' && !(item instanceof ArrayBuffer) && !('Alphabetic' in item)) unknownKeywords(item as NaturalDataset, found);
      }
    }
  }
  return found;
}

/**
 * Pixel data appended as the data set's last element, bypassing dcmjs: it copies a value several
 * times while writing (a 70 MB float map took 6 s and 330 MB), while this is one copy.
 */
export interface RawPixelElement {
  keyword: 'PixelData' | 'FloatPixelData';
  vr: 'OB' | 'OW' | 'OF';
  /** The value's bytes, little endian. */
  bytes: Uint8Array;
}

const PIXEL_ELEMENT = { PixelData: 0x0010, FloatPixelData: 0x0008 } as const;

/** An explicit VR little endian element header with a 4-byte length (the OB/OW/OF form). */
function longElementHeader(group: number, element: number, vr: string, length: number): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16LE(group, 0);
  header.writeUInt16LE(element, 2);
  header.write(vr, 4, 'ascii');
  header.writeUInt32LE(length, 8);
  return header;
}

/** A Float32Array's values as little-endian bytes (the view itself on a little-endian machine). */
export function float32LittleEndian(values: Float32Array): Uint8Array {
  const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f) return bytes;
  const swapped = new Uint8Array(bytes.length);
  const view = new DataView(swapped.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return swapped;
}

/**
 * A Part 10 file (explicit VR little endian) of a naturalised data set that has SOPClassUID and
 * SOPInstanceUID. Sets Specific Character Set (see above). `pixels`, when given, is written as the
 * last element (the data set must then hold no pixel data of its own).
 */
export function writePart10(dataset: NaturalDataset, pixels?: RawPixelElement): Buffer {
  const sopClassUid = dataset.SOPClassUID;
  const sopInstanceUid = dataset.SOPInstanceUID;
  if (typeof sopClassUid !== 'string' || typeof sopInstanceUid !== 'string') {
    throw new ExportEncodingError('a data set to write needs SOPClassUID and SOPInstanceUID');
  }
  silenceDcmjs();
  const unknown = unknownKeywords(dataset);
  if (unknown.length > 0) throw new ExportEncodingError(`unknown DICOM keywords: ${unknown.join(', ')}`);
  if (pixels && Object.keys(dataset).some((name) => name.endsWith('PixelData'))) {
    throw new ExportEncodingError('pixel data given both in the data set and as a raw element');
  }
  const { SpecificCharacterSet: _ignored, ...rest } = dataset;
  const full: NaturalDataset = hasNonAscii(rest) ? { SpecificCharacterSet: 'ISO_IR 192', ...rest } : rest;
  const meta = {
    FileMetaInformationVersion: new Uint8Array([0, 1]).buffer,
    MediaStorageSOPClassUID: sopClassUid,
    MediaStorageSOPInstanceUID: sopInstanceUid,
    TransferSyntaxUID: TransferSyntax.ExplicitVRLittleEndian,
    ImplementationClassUID: IMPLEMENTATION_CLASS_UID,
    ImplementationVersionName: IMPLEMENTATION_VERSION_NAME,
  };
  let bytes: ArrayBuffer;
  try {
    const dict = new DicomDict(DicomMetaDictionary.denaturalizeDataset(meta));
    dict.dict = DicomMetaDictionary.denaturalizeDataset(full);
    bytes = dict.write();
  } catch (error) {
    // dcmjs messages may quote values: keep only that it failed.
    throw new ExportEncodingError(`could not encode the ${String(sopClassUid)} object (${error instanceof Error ? error.name : 'error'})`);
  }
  if (!pixels) return Buffer.from(bytes);
  const padding = pixels.bytes.length % 2 === 1 ? Buffer.alloc(1) : Buffer.alloc(0);
  const length = pixels.bytes.length + padding.length;
  if (length > 0xfffffffe) throw new ExportEncodingError('pixel data too long for one element');
  return Buffer.concat([Buffer.from(bytes), longElementHeader(0x7fe0, PIXEL_ELEMENT[pixels.keyword], pixels.vr, length), pixels.bytes, padding]);
}

/** The naturalised attributes of a Part 10 file up to (not including) Pixel Data. */
export function readHeaderAttributes(bytes: Uint8Array): NaturalDataset {
  silenceDcmjs();
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const message = DicomMessage.readFile(buffer, { untilTag: '7FE00010', includeUntilTagValue: false });
  return DicomMetaDictionary.naturalizeDataset(message.dict);
}

/**
 * A UID under the UUID arc (2.25, PS3.5 §B.2) made from a name-based (version 5 style) UUID of
 * `parts`: the same parts always give the same UID, different parts practically never collide.
 */
export function derivedUid(...parts: string[]): string {
  const hash = createHash('sha256').update(['cxr-assist/exports', ...parts].join('\u0000')).digest();
  const bytes = Buffer.from(hash.subarray(0, 16));
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  return UUID_UID_ROOT + BigInt(`0x${bytes.toString('hex')}`).toString(10);
}

/** DICOM DA and TM (UTC) of an instant. */
export function dicomDateTime(at: Date): { date: string; time: string; dateTime: string } {
  const iso = at.toISOString();
  const date = iso.slice(0, 10).replaceAll('-', '');
  const time = iso.slice(11, 19).replaceAll(':', '');
  return { date, time, dateTime: `${date}${time}+0000` };
}

/**
 * A person's display name (from a token) as a DICOM PN: kept whole as the family-name component,
 * since free-form names cannot be split into family and given names reliably.
 */
export function personName(name: string): { Alphabetic: string } {
  const clean = name.replace(/[\\^=]/g, ' ').replace(/\s+/g, ' ').trim();
  return { Alphabetic: (clean || 'Unknown').slice(0, 64) };
}

export interface CodedConcept {
  value: string;
  scheme: string;
  meaning: string;
}

/** A code sequence item; a code longer than SH allows (SNOMED CT ids reach 18 digits) goes in Long Code Value. */
export function codeItem(concept: CodedConcept): NaturalDataset {
  return {
    ...(concept.value.length <= MAX_LENGTH.SH ? { CodeValue: concept.value } : { LongCodeValue: concept.value }),
    CodingSchemeDesignator: concept.scheme,
    CodeMeaning: fitText(concept.meaning, 'LO'),
  };
}

/** FHIR code system URLs and DICOM Coding Scheme Designators for the systems findings use. */
const DESIGNATOR_OF_SYSTEM: Record<string, string> = {
  'http://snomed.info/sct': 'SCT',
  'http://radlex.org': 'RADLEX',
  'http://www.radlex.org': 'RADLEX',
  'http://loinc.org': 'LN',
  'http://dicom.nema.org/resources/ontology/DCM': 'DCM',
};

/** Private (local) coding scheme for concepts that have no standard code (PS3.3 §8.2: "99" prefix). */
export const LOCAL_SCHEME = '99CXR';

/** A finding's coded concept: its coding mapped to a DICOM scheme, else the model's own code in the local scheme. */
export function findingConcept(finding: { code: string; display: string; coding: { system: string; code: string; display: string } | null }): CodedConcept {
  const designator = finding.coding ? DESIGNATOR_OF_SYSTEM[finding.coding.system.replace(/\/+$/, '')] : undefined;
  if (finding.coding && designator) return { value: finding.coding.code, scheme: designator, meaning: finding.coding.display };
  return { value: finding.code, scheme: LOCAL_SCHEME, meaning: finding.display };
}
