import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { DicomError, DicomParseError, DicomValidationError, UnsupportedTransferSyntaxError } from './errors.ts';
import { encodeFileMetaInformation } from './file-meta.ts';
import { parseInstance } from './parse.ts';
import { Tag } from './tags.ts';
import {
  CORPUS, corpusPath, HAS_SHARED_SAMPLES, NEEDS_SHARED, readCorpus, readSample, SHARED_SAMPLES_DIR, seededRandom, type CorpusCase,
} from './samples.test-support.ts';
import { SopClass, TransferSyntax } from './uids.ts';
import { encodeDataSet, type DataElement } from './writer.ts';

const UIDS = { sopInstance: '1.2.3.4.1', study: '1.2.3.4.2', series: '1.2.3.4.3' };

/** A minimal valid Part 10 file, with a hook to change the data set elements. */
function minimalFile(
  edit: (elements: DataElement[]) => DataElement[] = (e) => e,
  meta: Partial<Parameters<typeof encodeFileMetaInformation>[0]> = {},
): Buffer {
  const elements: DataElement[] = [
    { tag: Tag.SopClassUid, vr: 'UI', value: SopClass.SecondaryCaptureImageStorage },
    { tag: Tag.SopInstanceUid, vr: 'UI', value: UIDS.sopInstance },
    { tag: Tag.StudyInstanceUid, vr: 'UI', value: UIDS.study },
    { tag: Tag.SeriesInstanceUid, vr: 'UI', value: UIDS.series },
    { tag: Tag.Modality, vr: 'CS', value: 'OT' },
  ];
  return Buffer.concat([
    encodeFileMetaInformation({
      mediaStorageSopClassUid: SopClass.SecondaryCaptureImageStorage,
      mediaStorageSopInstanceUid: UIDS.sopInstance,
      transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian,
      ...meta,
    }),
    encodeDataSet(edit(elements)),
  ]);
}

function errorOf(fn: () => unknown): DicomError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(DicomError);
    return error as DicomError;
  }
  throw new Error('expected a DicomError, nothing was thrown');
}

const ERROR_TYPES = { DicomParseError, DicomValidationError } as Record<string, typeof DicomError>;

describe('parseInstance on the generated corpus', () => {
  const readable = CORPUS.filter((c) => !c.refusal);
  test.each(readable.map((c) => [c.name, c] as const))('reads %s as its generator wrote it', (name, c) => {
    const instance = parseInstance(readCorpus(name));
    expect(instance).toMatchObject({
      transferSyntaxUid: c.transferSyntaxUid,
      sopClassUid: c.sopClassUid,
      sopInstanceUid: c.sopInstanceUid,
      studyInstanceUid: c.studyInstanceUid,
      seriesInstanceUid: c.seriesInstanceUid,
      modality: c.modality,
      accessionNumber: c.identifiers.accessionNumber,
      studyDate: c.identifiers.studyDate,
      hasPixelData: c.image !== undefined,
      numberOfFrames: c.image ? c.image.frames : 0,
    });
    expect(instance.rows).toBe(c.image?.rows);
    expect(instance.columns).toBe(c.image?.columns);
    if (c.image) expect(instance.photometricInterpretation).toBe(c.image.photometric);
  });

  test('reads the CR acquisition attributes of the MONOCHROME1 chest phantom', () => {
    expect(parseInstance(readCorpus('cr-j2k-lossy.dcm'))).toMatchObject({
      sopClassUid: SopClass.ComputedRadiographyImageStorage,
      bodyPartExamined: 'CHEST',
      viewPosition: 'PA',
      photometricInterpretation: 'MONOCHROME1',
    });
  });

  const refused = CORPUS.filter((c): c is CorpusCase & { refusal: NonNullable<CorpusCase['refusal']> } => c.refusal !== undefined);
  test.each(refused.map((c) => [c.name, c.refusal.error, c.refusal.reason, c.refusal] as const))(
    'refuses %s with a %s whose reason is %s',
    (name, _type, _reason, refusal) => {
      const error = errorOf(() => parseInstance(readCorpus(name)));
      expect(error).toBeInstanceOf(ERROR_TYPES[refusal.error]!);
      expect(error.reason).toBe(refusal.reason);
      expect(error.message).toContain(refusal.message);
      expect(error.permanent).toBe(true);
    },
  );
});

describe.skipIf(!HAS_SHARED_SAMPLES)(`parseInstance on the shared samples ${NEEDS_SHARED}`, () => {
  test.each([
    // file, transfer syntax, modality, rows, columns, frames, has pixel data
    ['CT_small.dcm', TransferSyntax.ExplicitVRLittleEndian, 'CT', 128, 128, 1, true],
    ['MR_small_implicit.dcm', TransferSyntax.ImplicitVRLittleEndian, 'MR', 64, 64, 1, true],
    ['MR_small_bigendian.dcm', TransferSyntax.ExplicitVRBigEndian, 'MR', 64, 64, 1, true],
    ['image_dfl.dcm', TransferSyntax.DeflatedExplicitVRLittleEndian, 'OT', 512, 512, 1, true],
    ['SC_rgb_jpeg_dcmtk.dcm', TransferSyntax.JpegBaseline, 'OT', 100, 100, 1, true],
    ['examples_ybr_color.dcm', TransferSyntax.JpegBaseline, 'US', 240, 320, 30, true],
    ['JPEG-LL.dcm', TransferSyntax.JpegLosslessSV1, 'NM', 1024, 256, 1, true],
    ['JPGExtended.dcm', TransferSyntax.JpegExtended, 'NM', 1024, 256, 1, true],
    ['MR_small_jpeg_ls_lossless.dcm', TransferSyntax.JpegLsLossless, 'MR', 64, 64, 1, true],
    ['MR_small_jp2klossless.dcm', TransferSyntax.Jpeg2000Lossless, 'MR', 64, 64, 1, true],
    ['MR_small_RLE.dcm', TransferSyntax.RleLossless, 'MR', 64, 64, 1, true],
    ['RG3_J2KI.dcm', TransferSyntax.Jpeg2000, 'CR', 1760, 1760, 1, true],
    ['mlut_18.dcm', TransferSyntax.ExplicitVRLittleEndian, 'OT', 512, 512, 1, true],
    ['vlut_04.dcm', TransferSyntax.ExplicitVRLittleEndian, 'OT', 512, 512, 1, true],
    ['liver_1frame.dcm', TransferSyntax.ExplicitVRLittleEndian, 'SEG', 512, 512, 1, true],
    ['reportsi.dcm', TransferSyntax.ExplicitVRLittleEndian, 'SR', undefined, undefined, 0, false],
  ])('reads %s (%s, %s %sx%s, %s frame(s))', (file, tsuid, modality, rows, columns, frames, hasPixelData) => {
    const instance = parseInstance(readSample(file));
    expect(instance.transferSyntaxUid).toBe(tsuid);
    expect(instance.modality).toBe(modality);
    expect(instance.rows).toBe(rows);
    expect(instance.columns).toBe(columns);
    expect(instance.numberOfFrames).toBe(frames);
    expect(instance.hasPixelData).toBe(hasPixelData);
  });

  test('reads the identifying UIDs and the CR acquisition attributes of RG3_J2KI.dcm', () => {
    // Expected values from `dcmdump +P 0008,0018 +P 0020,000d ... RG3_J2KI.dcm`.
    const instance = parseInstance(readSample('RG3_J2KI.dcm'));
    expect(instance).toMatchObject({
      sopClassUid: SopClass.ComputedRadiographyImageStorage,
      sopInstanceUid: '1.3.6.1.4.1.5962.1.1.11.1.3.20040826185059.5457',
      studyInstanceUid: '1.3.6.1.4.1.5962.1.2.11.20040826185059.5457',
      seriesInstanceUid: '1.3.6.1.4.1.5962.1.3.11.1.20040826185059.5457',
      bodyPartExamined: 'EXTREMITY',
      viewPosition: 'AP',
      photometricInterpretation: 'MONOCHROME1',
      accessionNumber: 'FUJI95706',
      studyDate: '20040826',
    });
  });

  test.each([
    ['no_meta.dcm', DicomParseError, 'not_part10', /DICM/],
    ['meta_missing_tsyntax.dcm', DicomValidationError, 'missing_transfer_syntax', /Transfer Syntax UID \(0002,0010\)/],
    ['MR_truncated.dcm', DicomParseError, 'truncated', /overrun/],
    ['rtplan.dcm', DicomValidationError, 'sop_instance_mismatch', /\(0002,0003\)/],
  ])('refuses %s with a %o whose reason is %s', (file, type, reason, message) => {
    const error = errorOf(() => parseInstance(readSample(file)));
    expect(error).toBeInstanceOf(type);
    expect(error.reason).toBe(reason);
    expect(error.message).toMatch(message);
    expect(error.permanent).toBe(true);
  });
});

describe('parseInstance validation', () => {
  test('accepts a minimal valid file', () => {
    const instance = parseInstance(minimalFile());
    expect(instance.sopInstanceUid).toBe(UIDS.sopInstance);
    expect(instance.hasPixelData).toBe(false);
  });

  test('refuses a file larger than maxBytes', () => {
    const error = errorOf(() => parseInstance(minimalFile(), { maxBytes: 200 }));
    expect(error.reason).toBe('too_large');
  });

  test('refuses a file too short to hold a preamble', () => {
    expect(errorOf(() => parseInstance(new Uint8Array(10))).reason).toBe('not_part10');
  });

  test.each([
    ['a missing Study Instance UID', (e: DataElement[]) => e.filter((x) => x.tag !== Tag.StudyInstanceUid), 'missing_attribute'],
    ['a missing SOP Class UID', (e: DataElement[]) => e.filter((x) => x.tag !== Tag.SopClassUid), 'missing_attribute'],
    ['a UID component with a leading zero', (e: DataElement[]) => withValue(e, Tag.SeriesInstanceUid, '1.2.03'), 'invalid_uid'],
    ['an empty UID component', (e: DataElement[]) => withValue(e, Tag.SeriesInstanceUid, '1..2'), 'invalid_uid'],
    ['a UID with letters', (e: DataElement[]) => withValue(e, Tag.StudyInstanceUid, '1.2.abc'), 'invalid_uid'],
    // Written as UT because the writer itself refuses a UI longer than 64 characters.
    ['a 65-character UID', (e: DataElement[]) => e.map((x) => (x.tag === Tag.StudyInstanceUid ? { ...x, vr: 'UT' as const, value: '1.' + '2'.repeat(63) } : x)), 'invalid_uid'],
    ['a SOP Instance UID differing from the meta header', (e: DataElement[]) => withValue(e, Tag.SopInstanceUid, '1.2.3.4.9'), 'sop_instance_mismatch'],
    ['a SOP Class UID differing from the meta header', (e: DataElement[]) => withValue(e, Tag.SopClassUid, SopClass.CTImageStorage), 'sop_class_mismatch'],
  ])('refuses a data set with %s', (_what, edit, reason) => {
    const error = errorOf(() => parseInstance(minimalFile(edit)));
    expect(error).toBeInstanceOf(DicomValidationError);
    expect(error.reason).toBe(reason);
  });

  test('refuses a private transfer syntax as unsupported', () => {
    const error = errorOf(() => parseInstance(minimalFile(undefined, { transferSyntaxUid: '1.3.6.1.4.1.99.1' })));
    expect(error).toBeInstanceOf(UnsupportedTransferSyntaxError);
    expect(error.reason).toBe('unsupported_transfer_syntax');
  });

  test('refuses an element whose length runs past the end of the file', () => {
    const file = minimalFile();
    // The last element is (0020,000E) UI; claim a much longer value than the file holds.
    const lastHeader = file.lastIndexOf(Buffer.from([0x20, 0x00, 0x0e, 0x00, 0x55, 0x49]));
    file.writeUInt16LE(0xfff0, lastHeader + 6);
    const error = errorOf(() => parseInstance(file));
    expect(error).toBeInstanceOf(DicomParseError);
    expect(error.reason).toBe('truncated');
  });

  test('refuses a deflated data set that inflates beyond maxBytes (a zip bomb)', async () => {
    const { deflateRawSync } = await import('node:zlib');
    const meta = encodeFileMetaInformation({
      mediaStorageSopClassUid: SopClass.SecondaryCaptureImageStorage,
      mediaStorageSopInstanceUid: UIDS.sopInstance,
      transferSyntaxUid: TransferSyntax.DeflatedExplicitVRLittleEndian,
    });
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024));
    const error = errorOf(() => parseInstance(Buffer.concat([meta, bomb]), { maxBytes: 1024 * 1024 }));
    expect(error.reason).toBe('too_large');
  });

  test('refuses a deflated transfer syntax whose data set is not deflated', () => {
    const file = minimalFile(undefined, { transferSyntaxUid: TransferSyntax.DeflatedExplicitVRLittleEndian });
    expect(errorOf(() => parseInstance(file))).toBeInstanceOf(DicomParseError);
  });

  test('wraps dicom-parser failures in Error subclasses, never plain objects', () => {
    let thrown: unknown;
    try {
      parseInstance(readCorpus('mr-truncated.dcm'));
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(Error);
    expect((thrown as Error).name).toBe('DicomParseError');
  });
});

function withValue(elements: DataElement[], tag: string, value: string): DataElement[] {
  return elements.map((e) => (e.tag === tag ? { ...e, value } : e));
}

// The generated corpus always; the shared samples too when they are there.
const HOSTILE_INPUTS: [label: string, path: string][] = [
  ...CORPUS.map((c) => [c.name, corpusPath(c.name)] as [string, string]),
  ...(SHARED_SAMPLES_DIR
    ? readdirSync(SHARED_SAMPLES_DIR).filter((f) => f.endsWith('.dcm')).map((f) => [`shared ${f}`, join(SHARED_SAMPLES_DIR!, f)] as [string, string])
    : []),
];

describe('parseInstance on hostile input', () => {
  const ITERATIONS_PER_SAMPLE = 500; // × 27 corpus files = 13,500 mutated files, ~3 s (+ 10,000 with the shared ones)

  test.each(HOSTILE_INPUTS)('only ever returns or throws a DicomError for mutations of %s', (label, file) => {
    const original = readFileSync(file);
    const random = seededRandom([...label].reduce((h, c) => h * 31 + c.charCodeAt(0), 7));
    const started = Date.now();
    let returned = 0;
    for (let i = 0; i < ITERATIONS_PER_SAMPLE; i++) {
      const mutated = mutate(original, random);
      const t0 = Date.now();
      try {
        parseInstance(mutated, { maxBytes: 8 * 1024 * 1024 });
        returned++;
      } catch (error) {
        if (!(error instanceof DicomError)) {
          throw new Error(`iteration ${i} of ${label} threw a non-DicomError: ${String(error)}`, { cause: error });
        }
      }
      expect(Date.now() - t0).toBeLessThan(2000);
    }
    expect(Date.now() - started).toBeLessThan(20_000);
    expect(returned).toBeGreaterThanOrEqual(0);
  });
});

/** Byte flips, 0xFF runs (huge lengths), truncations and chunk duplications, mostly in headers. */
function mutate(original: Buffer, random: () => number): Buffer {
  const bytes = Buffer.from(original);
  const kind = Math.floor(random() * 4);
  // Bias towards the first 4 KiB, where the headers and element lengths are.
  const position = () => Math.floor(random() < 0.7 ? random() * Math.min(4096, bytes.length) : random() * bytes.length);
  switch (kind) {
    case 0: {
      const flips = 1 + Math.floor(random() * 8);
      for (let j = 0; j < flips; j++) bytes[position()] = Math.floor(random() * 256);
      return bytes;
    }
    case 1: {
      const at = position();
      bytes.fill(0xff, at, Math.min(bytes.length, at + 1 + Math.floor(random() * 4)));
      return bytes;
    }
    case 2:
      return bytes.subarray(0, Math.floor(random() * bytes.length));
    default: {
      const at = position();
      const length = Math.floor(random() * 64);
      return Buffer.concat([bytes.subarray(0, at), bytes.subarray(at, at + length), bytes.subarray(at)]);
    }
  }
}
