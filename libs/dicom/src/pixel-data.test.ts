import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { CodecsNotReadyError } from './codecs.ts';
import { DicomError, PixelDataError } from './errors.ts';
import { parseInstance, type ParsedInstance } from './parse.ts';
import { decodeFrame, decodeFrameAsync, type DecodedFrame } from './pixel-data.ts';
import { Tag } from './tags.ts';
import {
  CORPUS, corpusSourcePixels, HAS_SHARED_SAMPLES, NEEDS_SHARED, readCorpus, readSample, seededRandom,
} from './samples.test-support.ts';

function sha256(frame: DecodedFrame): string {
  const { buffer, byteOffset, byteLength } = frame.data;
  return createHash('sha256').update(new Uint8Array(buffer, byteOffset, byteLength)).digest('hex');
}

/**
 * Reference hashes of the stored values (little endian), computed independently:
 * - native files: `dcmdump +W dir file.dcm`, which writes Pixel Data (host order) to a .raw file;
 * - JPEG / JPEG-LS / RLE: `dcmdjpeg` (`+cp` for colour, giving RGB) / `dcmdjpls` / `dcmdrle`,
 *   then the same `dcmdump +W`;
 * - JPEG 2000: `opj_decompress` (OpenJPEG 2.5.0) on the extracted codestream, PGM to little endian.
 */
const MR_SMALL = '88617aaa46138fb1b6e2a951e762d962382354d69f47f8c04d4abff2f6a6a63e';
const REFERENCE: [file: string, frame: number, type: string, photometric: string, sha: string][] = [
  ['CT_small.dcm', 0, 'Int16Array', 'MONOCHROME2', '7a481f6ffff833aef4d8bd54819bd8f472aaa7232090208e056c90eacf079926'],
  ['MR_small_implicit.dcm', 0, 'Int16Array', 'MONOCHROME2', MR_SMALL],
  ['MR_small_bigendian.dcm', 0, 'Int16Array', 'MONOCHROME2', MR_SMALL],
  ['MR_small_RLE.dcm', 0, 'Int16Array', 'MONOCHROME2', MR_SMALL],
  ['MR_small_jpeg_ls_lossless.dcm', 0, 'Int16Array', 'MONOCHROME2', MR_SMALL],
  ['MR_small_jp2klossless.dcm', 0, 'Int16Array', 'MONOCHROME2', MR_SMALL],
  ['image_dfl.dcm', 0, 'Uint8Array', 'MONOCHROME2', '1f5f1b1c1a57606a55d7e4212ee2655c8205b45e264bd55057f7388c258deef8'],
  ['mlut_18.dcm', 0, 'Int16Array', 'MONOCHROME2', '8c5e46dbbefadf90d5d4b198df81041f7803707a9ac6c8f15f30344429262626'],
  ['vlut_04.dcm', 0, 'Uint8Array', 'MONOCHROME2', '74853be063ef5655c12d6c25be10f47107b8dc515978e73bff0bb35c33f01af8'],
  ['JPEG-LL.dcm', 0, 'Int16Array', 'MONOCHROME2', 'a6e9d32143339d3f5748b5520aa4e6c6ffb3550b6f71fdf17bdb2ebb44bc2611'],
  ['JPGExtended.dcm', 0, 'Uint16Array', 'MONOCHROME2', 'd30242775a414c01d616447854ebe3f2b20259822894bcd6891f879bcdcbf313'],
  ['SC_rgb_jpeg_dcmtk.dcm', 0, 'Uint8Array', 'RGB', 'ddb100d8f45a7fbf420e8ce5d1b376a5479f068c5109daac31eb982f662d228f'],
  ['examples_ybr_color.dcm', 0, 'Uint8Array', 'RGB', '52353e7c7c11b14a3b82a7b9258df5f844f5ac01c504fb2198d98e755043202d'],
  ['examples_ybr_color.dcm', 29, 'Uint8Array', 'RGB', '40229e504a1fae6c947c6767e5a39194f236dc17c9642817c66c67f2f8c8c060'],
  ['RG3_J2KI.dcm', 0, 'Uint16Array', 'MONOCHROME1', '25559cb05640e9e9860e91adf4d49dd3469694d0ff56bbf76c8853c3e05f4cc5'],
];

/** Image cases of the corpus whose pixels a decoder must give back (1-bit SEG is refused). */
const DECODABLE = CORPUS.filter((c) => c.image?.source && !c.refusal && c.image.bitsAllocated > 1);

describe('decodeFrame on the generated corpus', () => {
  // Runs first: this file's process has not loaded the codecs yet.
  test('asks for initializeCodecs() before decoding a compressed frame, and needs nothing for a native one', () => {
    expect(() => decodeFrame(parseInstance(readCorpus('mr-rle.dcm')), 0)).toThrow(CodecsNotReadyError);
    expect(decodeFrame(parseInstance(readCorpus('ct-signed-rescale.dcm')), 0).data.length).toBe(128 * 128);
  });

  test.each(DECODABLE.map((c) => [c.name, c.image!.source!.lossless ? 'exactly the' : 'within its stated tolerance of the', c] as const))(
    'decodes every frame of %s to %s stored values its generator wrote',
    async (name, _how, c) => {
      const instance = parseInstance(readCorpus(name));
      const image = c.image!;
      const source = corpusSourcePixels(name);
      const perFrame = image.rows * image.columns * image.samplesPerPixel;
      expect(source.length).toBe(perFrame * image.frames);
      let max = 0;
      let sum = 0;
      for (let f = 0; f < image.frames; f++) {
        const frame = await decodeFrameAsync(instance, f);
        expect(frame.data.constructor.name).toBe(image.source!.type);
        expect(frame.photometricInterpretation).toBe(image.source!.decodedPhotometric);
        expect(frame).toMatchObject({ rows: image.rows, columns: image.columns, bitsStored: image.bitsStored, pixelRepresentation: image.pixelRepresentation });
        expect(frame.data.length).toBe(perFrame);
        const expected = source.subarray(f * perFrame, (f + 1) * perFrame);
        if (image.source!.lossless) {
          // Compared as a whole first (fast), element by element only to show where it differs.
          if (Buffer.compare(bytesOf(frame.data), bytesOf(expected)) !== 0) expect(Array.from(frame.data)).toEqual(Array.from(expected));
          continue;
        }
        for (let i = 0; i < perFrame; i++) {
          const d = Math.abs(frame.data[i]! - expected[i]!);
          sum += d;
          if (d > max) max = d;
        }
      }
      if (!image.source!.lossless) {
        const { maxAbs, meanAbs } = image.source!.tolerance!;
        expect(max).toBeGreaterThan(0); // it really is the lossy stream, not a native copy
        expect(max).toBeLessThanOrEqual(maxAbs);
        expect(sum / source.length).toBeLessThanOrEqual(meanAbs);
      }
    },
  );

  test('reads big endian stored values in the right byte order', () => {
    const source = corpusSourcePixels('mr-big-endian.dcm');
    const frame = decodeFrame(parseInstance(readCorpus('mr-big-endian.dcm')), 0);
    expect(Array.from(frame.data.slice(0, 64))).toEqual(Array.from(source.slice(0, 64)));
    expect(new Set(Array.from(source.slice(0, 64), (v) => v & 0xff)).size).toBeGreaterThan(1); // a swap would show
  });

  test('reports the image pixel module of the CR as stored: 10 bits stored, MONOCHROME1', async () => {
    const frame = await decodeFrameAsync(parseInstance(readCorpus('cr-j2k-lossy.dcm')), 0);
    expect(frame).toMatchObject({ rows: 1229, columns: 1024, bitsAllocated: 16, bitsStored: 10, highBit: 9, pixelRepresentation: 0, photometricInterpretation: 'MONOCHROME1' });
  });

  test('refuses 1-bit pixel data as not an image', () => {
    const error = catchError(() => decodeFrame(parseInstance(readCorpus('seg-1bit.dcm')), 0));
    expect(error).toBeInstanceOf(PixelDataError);
    expect(error.reason).toBe('not_an_image');
  });

  test('refuses an instance without pixel data', () => {
    expect(catchError(() => decodeFrame(parseInstance(readCorpus('sr-basic-text.dcm')), 0)).reason).toBe('no_pixel_data');
  });

  test('refuses a frame index outside the frames', () => {
    expect(() => decodeFrame(parseInstance(readCorpus('ct-signed-rescale.dcm')), 1)).toThrow(RangeError);
    expect(() => decodeFrame(parseInstance(readCorpus('us-multiframe-rgb.dcm')), 8)).toThrow(RangeError);
  });

  test('refuses native pixel data shorter than rows x columns needs', () => {
    const instance = withRows(parseInstance(readCorpus('ct-signed-rescale.dcm')), 129);
    expect(catchError(() => decodeFrame(instance, 0)).reason).toBe('pixel_length_mismatch');
  });

  test('refuses a compressed frame whose codestream size differs from the header before decoding it', async () => {
    const instance = withRows(parseInstance(readCorpus('cr-j2k-lossless.dcm')), 1200);
    const error = await catchErrorAsync(() => decodeFrameAsync(instance, 0));
    expect(error.reason).toBe('codestream_mismatch');
  });

  // Regression: a decoder trap ('unreachable' from CharLS, 'memory access out of bounds') left the
  // WASM module broken, and every later decode failed or hung. The module is now reloaded.
  test('refuses a JPEG-LS frame that makes the decoder trap, and still decodes good frames afterwards', async () => {
    const bytes = Buffer.from(readCorpus('mr-jpeg-ls-lossless.dcm'));
    bytes[pixelDataOffset(bytes) + 8 + 8 + 30]! ^= 0x55; // skip the empty offset table item and the fragment's item header
    const error = await catchErrorAsync(() => decodeFrameAsync(parseInstance(bytes), 0));
    expect(error).toBeInstanceOf(PixelDataError);
    expect(error.reason).toBe('decode_failed');
    const source = corpusSourcePixels('mr-explicit.dcm');
    for (const file of ['mr-jpeg-ls-lossless.dcm', 'mr-j2k-lossless.dcm', 'mr-rle.dcm']) {
      expect(bytesOf((await decodeFrameAsync(parseInstance(readCorpus(file)), 0)).data).equals(bytesOf(source)), file).toBe(true);
    }
  });

  test.each(['mr-rle.dcm', 'mr-j2k-lossless.dcm', 'nm-jpeg-extended-12bit.dcm', 'sc-rgb-jpeg-baseline.dcm', 'mr-jpeg-ls-lossless.dcm'])(
    'only ever returns a frame of the right size or throws a DicomError for corrupted pixel data of %s',
    async (file) => fuzzPixelData(readCorpus(file), file),
  );
});

function bytesOf(data: ArrayBufferView): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

async function fuzzPixelData(original: Buffer, label: string): Promise<void> {
  const pixelStart = pixelDataOffset(original);
  const random = seededRandom(label.length * 7919);
  for (let i = 0; i < 60; i++) {
    const bytes = Buffer.from(original);
    for (let j = 0; j < 4; j++) {
      const at = pixelStart + Math.floor(random() * (bytes.length - pixelStart));
      bytes[at] = Math.floor(random() * 256);
    }
    const started = Date.now();
    try {
      const instance = parseInstance(bytes);
      const frame = await decodeFrameAsync(instance, 0);
      expect(frame.data.length).toBe(instance.rows! * instance.columns! * frame.samplesPerPixel);
    } catch (error) {
      if (!(error instanceof DicomError)) throw error;
    }
    expect(Date.now() - started).toBeLessThan(5000);
  }
}

describe.skipIf(!HAS_SHARED_SAMPLES)(`decodeFrame on the shared samples ${NEEDS_SHARED}`, () => {
  test.each(REFERENCE)('decodes %s frame %i to the %s of %s values DCMTK/OpenJPEG produce', async (file, frameIndex, type, photometric, sha) => {
    const instance = parseInstance(readSample(file));
    const frame = await decodeFrameAsync(instance, frameIndex);
    expect(frame.data.constructor.name).toBe(type);
    expect(frame.photometricInterpretation).toBe(photometric);
    expect(frame.data.length).toBe(instance.rows! * instance.columns! * frame.samplesPerPixel);
    expect(sha256(frame)).toBe(sha);
  });

  test('decodes every frame of the 30-frame JPEG ultrasound', async () => {
    const instance = parseInstance(readSample('examples_ybr_color.dcm'));
    for (let i = 0; i < instance.numberOfFrames; i++) {
      const frame = await decodeFrameAsync(instance, i);
      expect(frame.data.length).toBe(240 * 320 * 3);
    }
  });

  test('reads big endian stored values in the right byte order', () => {
    // (7fe0,0010) OW 0389\03fb\04cb... per `dcmdump MR_small_bigendian.dcm`.
    const frame = decodeFrame(parseInstance(readSample('MR_small_bigendian.dcm')), 0);
    expect(Array.from(frame.data.slice(0, 3))).toEqual([0x0389, 0x03fb, 0x04cb]);
  });

  test('reports the image pixel module of the CR as stored: 10 bits stored, MONOCHROME1', async () => {
    const frame = await decodeFrameAsync(parseInstance(readSample('RG3_J2KI.dcm')), 0);
    expect(frame).toMatchObject({ rows: 1760, columns: 1760, bitsAllocated: 16, bitsStored: 10, highBit: 9, pixelRepresentation: 0 });
  });

  test('refuses 1-bit pixel data as not an image', () => {
    const error = catchError(() => decodeFrame(parseInstance(readSample('liver_1frame.dcm')), 0));
    expect(error).toBeInstanceOf(PixelDataError);
    expect(error.reason).toBe('not_an_image');
  });

  test('refuses an instance without pixel data', () => {
    expect(catchError(() => decodeFrame(parseInstance(readSample('reportsi.dcm')), 0)).reason).toBe('no_pixel_data');
  });

  test('refuses a frame index outside the frames', () => {
    expect(() => decodeFrame(parseInstance(readSample('CT_small.dcm')), 1)).toThrow(RangeError);
  });

  test('refuses native pixel data shorter than rows x columns needs', () => {
    const bytes = readSample('CT_small.dcm');
    const instance = withRows(parseInstance(bytes), 129);
    expect(catchError(() => decodeFrame(instance, 0)).reason).toBe('pixel_length_mismatch');
  });

  test('refuses a compressed frame whose codestream size differs from the header before decoding it', async () => {
    const instance = withRows(parseInstance(readSample('RG3_J2KI.dcm')), 1700);
    const error = await catchErrorAsync(() => decodeFrameAsync(instance, 0));
    expect(error.reason).toBe('codestream_mismatch');
  });

  // Regression: a decoder trap ('unreachable' from CharLS, 'memory access out of bounds') left the
  // WASM module broken, and every later decode failed or hung. The module is now reloaded.
  test('refuses a JPEG-LS frame that makes the decoder trap, and still decodes good frames afterwards', async () => {
    const bytes = Buffer.from(readSample('MR_small_jpeg_ls_lossless.dcm'));
    const pixelStart = pixelDataOffset(bytes);
    bytes[pixelStart + 8 + 8 + 30]! ^= 0x55; // skip the empty offset table item and the fragment's item header
    const error = await catchErrorAsync(() => decodeFrameAsync(parseInstance(bytes), 0));
    expect(error).toBeInstanceOf(PixelDataError);
    expect(error.reason).toBe('decode_failed');
    for (const file of ['MR_small_jpeg_ls_lossless.dcm', 'MR_small_jp2klossless.dcm', 'MR_small_RLE.dcm']) {
      expect(sha256(await decodeFrameAsync(parseInstance(readSample(file)), 0))).toBe(MR_SMALL);
    }
  });

  test.each(['MR_small_RLE.dcm', 'MR_small_jp2klossless.dcm', 'JPGExtended.dcm', 'SC_rgb_jpeg_dcmtk.dcm'])(
    'only ever returns a frame of the right size or throws a DicomError for corrupted pixel data of %s',
    async (file) => fuzzPixelData(readSample(file), file),
  );
});

function pixelDataOffset(bytes: Buffer): number {
  const dataSet = parseInstance(bytes).dataSet as { elements: Record<string, { dataOffset: number }> };
  return dataSet.elements[Tag.PixelData]!.dataOffset;
}

/** A copy of the instance whose data set claims a different Rows value. */
function withRows(instance: ParsedInstance, rows: number): ParsedInstance {
  const dataSet = instance.dataSet as { uint16: (tag: string) => number | undefined };
  const patched = Object.create(dataSet) as typeof dataSet;
  patched.uint16 = (tag: string) => (tag === Tag.Rows ? rows : dataSet.uint16(tag));
  return { ...instance, rows, dataSet: patched };
}

function catchError(fn: () => unknown): DicomError {
  try {
    fn();
  } catch (error) {
    if (error instanceof DicomError) return error;
    throw error;
  }
  throw new Error('expected a DicomError');
}

async function catchErrorAsync(fn: () => Promise<unknown>): Promise<DicomError> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof DicomError) return error;
    throw error;
  }
  throw new Error('expected a DicomError');
}
