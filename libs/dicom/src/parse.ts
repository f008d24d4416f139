/**
 * parseInstance: the one door through which DICOM bytes enter the project.
 *
 * It wraps dicom-parser (which throws strings and plain objects) so that every failure is a
 * DicomError, and validates what the other services rely on: a Part 10 header with a transfer
 * syntax, syntactically valid UIDs, a meta header that agrees with the data set, and element
 * lengths inside the file. Work and memory are bounded by the input size (and `maxBytes` for the
 * inflated size of a deflated data set), so hostile input cannot make it hang or balloon.
 */
import dicomParser, { type DataSet } from 'dicom-parser';
import { inflateRawSync } from 'node:zlib';
import { DicomError, DicomParseError, DicomValidationError, describeParserFailure } from './errors.ts';
import { readFileMetaInformation } from './file-meta.ts';
import { Tag } from './tags.ts';
import { TransferSyntax } from './uids.ts';
import { checkElementBounds, checkPart10Prefix, checkTransferSyntaxReadable, requireUid } from './validate.ts';

/** Default ceiling on the file size, and on the inflated size of a deflated data set. */
export const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;
/** Upper bound we accept for Number of Frames (0028,0008). */
export const MAX_NUMBER_OF_FRAMES = 100_000;

export interface ParseOptions {
  /** Refuse files (and inflated data sets) larger than this. Default 512 MiB. */
  maxBytes?: number;
}

export interface ParsedInstance {
  transferSyntaxUid: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality?: string;
  bodyPartExamined?: string;
  viewPosition?: string;
  photometricInterpretation?: string;
  rows?: number;
  columns?: number;
  /** Number of Frames (0028,0008); 1 when absent and there is pixel data; 0 without pixel data. */
  numberOfFrames: number;
  // PHI: callers must never log these.
  patientId?: string;
  /** Issuer of Patient ID (0010,0021): with the Patient ID, who the patient is across studies. */
  issuerOfPatientId?: string;
  patientName?: string;
  accessionNumber?: string;
  studyDate?: string;
  /** Patient's Age (0010,1010), an AS string such as `045Y` (kept in age bands downstream). */
  patientAge?: string;
  /** Requested Procedure Priority (0040,1003), e.g. STAT / HIGH / ROUTINE / MEDIUM / LOW. */
  priority?: string;
  hasPixelData: boolean;
  /** The dicom-parser DataSet, for the pixel and grey-scale modules. */
  dataSet: unknown;
  /** The bytes the data set indexes into (for a deflated file, the inflated copy). */
  byteArray: Uint8Array;
}

/** The dicom-parser DataSet inside a ParsedInstance (package-internal). */
export function dataSetOf(instance: ParsedInstance): DataSet {
  return instance.dataSet as DataSet;
}

function inflaterFor(maxBytes: number) {
  return (byteArray: Uint8Array, position: number): Uint8Array => {
    let inflated: Buffer;
    try {
      inflated = inflateRawSync(byteArray.subarray(position), { maxOutputLength: Math.max(1, maxBytes - position) });
    } catch (cause) {
      const tooLarge = cause instanceof RangeError || (cause as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw tooLarge
        ? new DicomValidationError('too_large', `deflated data set inflates to more than ${maxBytes} bytes`, { cause })
        : new DicomParseError('bad_deflate', 'deflated data set is not a valid raw deflate stream', { cause });
    }
    const full = new Uint8Array(position + inflated.length);
    full.set(byteArray.subarray(0, position), 0);
    full.set(inflated, position);
    return full;
  };
}

/** Run a dicom-parser call, turning whatever it throws into a DicomParseError. */
function callParser<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (thrown) {
    if (thrown instanceof DicomError) throw thrown;
    // dicom-parser throws `{ exception, dataSet }` from parseDicom; the inflater's DicomError ends up inside.
    const inner = (thrown as { exception?: unknown } | null)?.exception;
    if (inner instanceof DicomError) throw inner;
    const message = describeParserFailure(thrown);
    const truncated = /overrun|eof|end of|past the end|beyond|outside|out of range|buffer/i.test(message);
    throw new DicomParseError(truncated ? 'truncated' : 'malformed', `${what}: ${message}`, { cause: thrown });
  }
}

function optionalString(dataSet: DataSet, tag: string): string | undefined {
  const value = dataSet.string(tag);
  return value === undefined || value === '' ? undefined : value;
}

function optionalUint16(dataSet: DataSet, tag: string): number | undefined {
  const element = dataSet.elements[tag];
  if (!element || element.length < 2) return undefined;
  return dataSet.uint16(tag);
}

function readNumberOfFrames(dataSet: DataSet, hasPixelData: boolean): number {
  if (!hasPixelData) return 0;
  const raw = optionalString(dataSet, Tag.NumberOfFrames);
  if (raw === undefined) return 1;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > MAX_NUMBER_OF_FRAMES) {
    throw new DicomValidationError('invalid_number_of_frames', 'Number of Frames (0028,0008) is not a positive integer in range');
  }
  return value;
}

/**
 * Parse and validate a DICOM Part 10 file. Throws a DicomError (never anything else) when the
 * bytes are not a usable DICOM object; see `reason` for why.
 */
export function parseInstance(bytes: Uint8Array, options: ParseOptions = {}): ParsedInstance {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
  if (!(bytes instanceof Uint8Array)) throw new DicomParseError('not_bytes', 'input is not a byte array');
  if (bytes.length > maxBytes) {
    throw new DicomValidationError('too_large', `file is ${bytes.length} bytes, more than the ${maxBytes}-byte limit`);
  }
  // A plain Uint8Array view: dicom-parser takes Node-only paths for Buffers.
  const input = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.length);
  checkPart10Prefix(input);

  const meta = readFileMetaInformation(input);
  const transferSyntaxUid = meta.transferSyntaxUid;
  if (transferSyntaxUid === undefined) {
    throw new DicomValidationError(
      'missing_transfer_syntax',
      'file meta information has no Transfer Syntax UID (0002,0010): cannot tell how the data set is encoded',
    );
  }
  checkTransferSyntaxReadable(transferSyntaxUid);
  const metaSopClassUid = requireUid(meta.mediaStorageSopClassUid, 'Media Storage SOP Class UID', Tag.MediaStorageSopClassUid);
  const metaSopInstanceUid = requireUid(
    meta.mediaStorageSopInstanceUid,
    'Media Storage SOP Instance UID',
    Tag.MediaStorageSopInstanceUid,
  );

  const dataSet = callParser('data set', () =>
    dicomParser.parseDicom(input, {
      // The typings say the inflater returns void; it must return the header + inflated bytes.
      inflater: inflaterFor(maxBytes) as unknown as (arr: Uint8Array, position: number) => void,
    }),
  );
  checkElementBounds(dataSet);
  if (transferSyntaxUid === TransferSyntax.DeflatedExplicitVRLittleEndian && dataSet.byteArray.length > maxBytes) {
    throw new DicomValidationError('too_large', `inflated data set is more than the ${maxBytes}-byte limit`);
  }

  const sopClassUid = requireUid(dataSet.string(Tag.SopClassUid), 'SOP Class UID', Tag.SopClassUid);
  const sopInstanceUid = requireUid(dataSet.string(Tag.SopInstanceUid), 'SOP Instance UID', Tag.SopInstanceUid);
  const studyInstanceUid = requireUid(dataSet.string(Tag.StudyInstanceUid), 'Study Instance UID', Tag.StudyInstanceUid);
  const seriesInstanceUid = requireUid(dataSet.string(Tag.SeriesInstanceUid), 'Series Instance UID', Tag.SeriesInstanceUid);
  if (metaSopInstanceUid !== sopInstanceUid) {
    throw new DicomValidationError(
      'sop_instance_mismatch',
      'Media Storage SOP Instance UID (0002,0003) differs from SOP Instance UID (0008,0018)',
    );
  }
  if (metaSopClassUid !== sopClassUid) {
    throw new DicomValidationError(
      'sop_class_mismatch',
      'Media Storage SOP Class UID (0002,0002) differs from SOP Class UID (0008,0016)',
    );
  }

  const pixelData = dataSet.elements[Tag.PixelData];
  const hasPixelData = pixelData !== undefined && (pixelData.length > 0 || (pixelData.fragments?.length ?? 0) > 0);

  return {
    transferSyntaxUid,
    sopClassUid,
    sopInstanceUid,
    studyInstanceUid,
    seriesInstanceUid,
    modality: optionalString(dataSet, Tag.Modality),
    bodyPartExamined: optionalString(dataSet, Tag.BodyPartExamined),
    viewPosition: optionalString(dataSet, Tag.ViewPosition),
    photometricInterpretation: optionalString(dataSet, Tag.PhotometricInterpretation),
    rows: optionalUint16(dataSet, Tag.Rows),
    columns: optionalUint16(dataSet, Tag.Columns),
    numberOfFrames: readNumberOfFrames(dataSet, hasPixelData),
    patientId: optionalString(dataSet, Tag.PatientId),
    issuerOfPatientId: optionalString(dataSet, Tag.IssuerOfPatientId),
    patientName: optionalString(dataSet, Tag.PatientName),
    accessionNumber: optionalString(dataSet, Tag.AccessionNumber),
    studyDate: optionalString(dataSet, Tag.StudyDate),
    patientAge: optionalString(dataSet, Tag.PatientAge),
    priority: optionalString(dataSet, Tag.RequestedProcedurePriority),
    hasPixelData,
    dataSet,
    byteArray: dataSet.byteArray,
  };
}
