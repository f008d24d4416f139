/**
 * What the corpus holds: `manifest.json` beside the files, one entry per case. Tests read their
 * expectations from here (what the generator wrote), never from the parser under test; the
 * corpus's own test checks every entry against DCMTK's reading of the file.
 *
 * The format is plain JSON on purpose: `@cxr/dicom`'s own tests read it without importing this
 * package (which depends on `@cxr/dicom`, so an import would be a package cycle).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export type PixelArrayType = 'Uint8Array' | 'Uint16Array' | 'Int16Array';

/** The stored values the generator wrote, before any codec: all frames, little endian. */
export interface SourcePixels {
  /** File beside the corpus file holding the values. */
  file: string;
  type: PixelArrayType;
  /** What a decoder hands back: colour JPEG decodes to RGB, grey stays as stored. */
  decodedPhotometric: string;
  /** Lossless codecs (and native files) must decode to exactly these values. */
  lossless: boolean;
  /** Lossy codecs: the largest and the mean absolute difference allowed, in stored units. */
  tolerance?: { maxAbs: number; meanAbs: number };
}

export interface CorpusImage {
  rows: number;
  columns: number;
  frames: number;
  samplesPerPixel: number;
  /** As stored in (0028,0004). */
  photometric: string;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: 0 | 1;
  source?: SourcePixels;
  window?: { center: number; width: number };
  rescale?: { slope: number; intercept: number };
  /** Modality or VOI LUT sequence the generator wrote: first stored value mapped, bits, entries. */
  modalityLut?: { firstMapped: number; bits: number; data: number[] };
  voiLut?: { firstMapped: number; bits: number; data: number[] };
}

/** How `parseInstance` must refuse the file. */
export interface ExpectedRefusal {
  error: 'DicomParseError' | 'DicomValidationError';
  reason: string;
  message: string;
}

export interface CorpusCase {
  /** File name in the corpus folder. */
  name: string;
  /** What the case exercises, one line. */
  what: string;
  /** How it is made (our writer, then which tool). */
  madeBy: string;
  /** (0002,0010); absent where the file has none. */
  transferSyntaxUid?: string;
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  modality: string;
  image?: CorpusImage;
  refusal?: ExpectedRefusal;
  /** Synthetic identifying values written into the file (none is a real person's). */
  identifiers: { patientName: string; patientId: string; accessionNumber: string; studyDate: string };
}

export interface CorpusManifest {
  key: string;
  cases: CorpusCase[];
}

export function readManifest(dir: string): CorpusManifest {
  return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as CorpusManifest;
}

/** The source pixels of a case as the typed array they were written from. */
export function readSourcePixels(dir: string, source: SourcePixels): Uint8Array | Uint16Array | Int16Array {
  const bytes = readFileSync(join(dir, source.file));
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  if (source.type === 'Uint8Array') return new Uint8Array(copy);
  return source.type === 'Int16Array' ? new Int16Array(copy) : new Uint16Array(copy);
}
