import dcmjsCodecs from 'dcmjs-codecs';
import { beforeAll, describe, expect, test } from 'vitest';
import { initializeCodecs } from './codecs.ts';
import { PixelDataError } from './errors.ts';
import { encodeFileMetaInformation } from './file-meta.ts';
import { parseInstance } from './parse.ts';
import { decodeFrame } from './pixel-data.ts';
import { Tag } from './tags.ts';
import { corpusSourcePixels } from './samples.test-support.ts';
import { SopClass, TransferSyntax } from './uids.ts';
import { encodeDataSet, encodeEncapsulatedPixelData } from './writer.ts';

/**
 * Encapsulated layouts the corpus does not cover (several frames without an offset table, a frame
 * split over fragments) and HTJ2K, which no Debian tool here writes: frames are encoded here with
 * dcmjs-codecs' own encoders from the corpus MR's stored values, which every decoder must give back.
 */
const { NativeCodecs, Context } = dcmjsCodecs;
let mrPixels: Int16Array;

beforeAll(async () => {
  await initializeCodecs();
  // 64x64 signed 16-bit, as the generator wrote them (not as our decoder reads them).
  mrPixels = corpusSourcePixels('mr-explicit.dcm') as Int16Array;
  expect(mrPixels).toBeInstanceOf(Int16Array);
  expect(mrPixels.length).toBe(64 * 64);
});

/** The MR frame shifted by `delta`, so that each frame of a multi-frame object differs. */
function mrFrame(delta: number): Uint8Array {
  const shifted = Int16Array.from(mrPixels, (v) => v + delta);
  return new Uint8Array(shifted.buffer);
}

function encode(kind: 'htj2k' | 'j2k' | 'rle', raw: Uint8Array): Uint8Array {
  const context = new Context({
    width: 64, height: 64, bitsAllocated: 16, bitsStored: 16, samplesPerPixel: 1, pixelRepresentation: 1,
    planarConfiguration: 0, photometricInterpretation: 'MONOCHROME2', decodedBuffer: raw,
  });
  const encoded =
    kind === 'htj2k'
      ? NativeCodecs.encodeHtJpeg2000(context, { lossy: false })
      : kind === 'j2k'
        ? NativeCodecs.encodeJpeg2000(context, { lossy: false })
        : NativeCodecs.encodeRle(context);
  return new Uint8Array(encoded.getEncodedBuffer()!);
}

function fileWith(transferSyntaxUid: string, frames: Uint8Array[][], basicOffsetTable: boolean): Buffer {
  const uid = '1.2.3.4.5.6';
  const meta = encodeFileMetaInformation({ mediaStorageSopClassUid: SopClass.MRImageStorage, mediaStorageSopInstanceUid: uid, transferSyntaxUid });
  const dataSet = encodeDataSet([
    { tag: Tag.SopClassUid, vr: 'UI', value: SopClass.MRImageStorage },
    { tag: Tag.SopInstanceUid, vr: 'UI', value: uid },
    { tag: Tag.StudyInstanceUid, vr: 'UI', value: '1.2.3.4.5.7' },
    { tag: Tag.SeriesInstanceUid, vr: 'UI', value: '1.2.3.4.5.8' },
    { tag: Tag.Modality, vr: 'CS', value: 'MR' },
    { tag: Tag.SamplesPerPixel, vr: 'US', value: 1 },
    { tag: Tag.PhotometricInterpretation, vr: 'CS', value: 'MONOCHROME2' },
    { tag: Tag.NumberOfFrames, vr: 'IS', value: frames.length },
    { tag: Tag.Rows, vr: 'US', value: 64 },
    { tag: Tag.Columns, vr: 'US', value: 64 },
    { tag: Tag.BitsAllocated, vr: 'US', value: 16 },
    { tag: Tag.BitsStored, vr: 'US', value: 16 },
    { tag: Tag.HighBit, vr: 'US', value: 15 },
    { tag: Tag.PixelRepresentation, vr: 'US', value: 1 },
  ]);
  return Buffer.concat([meta, dataSet, encodeEncapsulatedPixelData(frames, { basicOffsetTable })]);
}

/** Split a codestream into fragments of at most `size` bytes (even sizes, so no padding inside). */
function split(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += size) out.push(bytes.subarray(at, at + size));
  return out;
}

describe('encapsulated pixel data layouts', () => {
  test.each([
    ['HTJ2K lossless', TransferSyntax.HtJpeg2000Lossless, 'htj2k'],
    ['JPEG 2000 lossless', TransferSyntax.Jpeg2000Lossless, 'j2k'],
  ] as const)('decodes one %s frame split over several fragments', (_name, tsuid, kind) => {
    const codestream = encode(kind, mrFrame(0));
    const instance = parseInstance(fileWith(tsuid, [split(codestream, 1000)], false));
    expect(Array.from(decodeFrame(instance, 0).data)).toEqual(Array.from(mrPixels));
  });

  test.each([
    ['with a Basic Offset Table', true],
    ['without one, grouping fragments at codestream starts', false],
  ])('decodes each of three HTJ2K frames of several fragments %s', (_how, basicOffsetTable) => {
    const frames = [0, 100, 200].map((delta) => split(encode('htj2k', mrFrame(delta)), 1500));
    const instance = parseInstance(fileWith(TransferSyntax.HtJpeg2000Lossless, frames, basicOffsetTable));
    expect(instance.numberOfFrames).toBe(3);
    [0, 100, 200].forEach((delta, i) => {
      expect(Array.from(decodeFrame(instance, i).data)).toEqual(Array.from(mrPixels, (v) => v + delta));
    });
  });

  test('decodes three RLE frames of one fragment each, without an offset table', () => {
    const frames = [0, 7, 9].map((delta) => [encode('rle', mrFrame(delta))]);
    const instance = parseInstance(fileWith(TransferSyntax.RleLossless, frames, false));
    expect(Array.from(decodeFrame(instance, 2).data)).toEqual(Array.from(mrPixels, (v) => v + 9));
  });

  test('refuses several frames whose fragments cannot be told apart', () => {
    // Two RLE frames in three fragments, no offset table: RLE has no start marker to group by.
    const [a, b] = [encode('rle', mrFrame(0)), encode('rle', mrFrame(1))];
    const instance = parseInstance(fileWith(TransferSyntax.RleLossless, [[a.subarray(0, 1000), a.subarray(1000)], [b]], false));
    expect(() => decodeFrame(instance, 1)).toThrow(PixelDataError);
  });
});
