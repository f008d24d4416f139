/**
 * decodeFrame: one frame of pixel data as a typed array of stored values, whatever the transfer
 * syntax — native (little or big endian), encapsulated JPEG / JPEG-LS / JPEG 2000 / HTJ2K / RLE,
 * or a deflated data set (already inflated by parseInstance).
 *
 * Nothing is trusted blindly: the Image Pixel module is checked for sane values, a compressed
 * frame's own declared size is checked against it before decoding (the decoders size their
 * output from the codestream), and the decoded length is checked after.
 *
 * Output: grey frames keep their stored values in the allocated container (no masking or sign
 * extension to Bits Stored: that is the grey-scale pipeline's first step). Colour frames (RGB,
 * YBR_*) come out as interleaved RGB.
 */
import dicomParser, { type DataSet, type Element } from 'dicom-parser';
import { codecsReady, CodecsNotReadyError, decodeWithCodec, initializeCodecs, type CodecName } from './codecs.ts';
import { checkRleHeader, readJpeg2000Geometry, readJpegGeometry } from './codestream.ts';
import { describeParserFailure, PixelDataError, UnsupportedTransferSyntaxError } from './errors.ts';
import { dataSetOf, type ParsedInstance } from './parse.ts';
import { Tag } from './tags.ts';
import { TransferSyntax } from './uids.ts';

export type PixelArray = Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array;

export interface DecodedFrame {
  rows: number;
  columns: number;
  /** 1 for grey, 3 for colour (always interleaved RGB after decoding). */
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: number;
  /** MONOCHROME1, MONOCHROME2, RGB (colour is converted), or PALETTE COLOR (indices, unchanged). */
  photometricInterpretation: string;
  /** rows × columns × samplesPerPixel values, row by row, samples interleaved. */
  data: PixelArray;
}

/** Largest decoded frame we accept (bytes); a chest radiograph is ~20-50 MB at 16 bits. */
export const MAX_FRAME_BYTES = 512 * 1024 * 1024;

const CODEC_BY_TRANSFER_SYNTAX: Readonly<Record<string, CodecName>> = Object.freeze({
  [TransferSyntax.JpegBaseline]: 'jpeg',
  [TransferSyntax.JpegExtended]: 'jpeg',
  [TransferSyntax.JpegLossless]: 'jpeg',
  [TransferSyntax.JpegLosslessSV1]: 'jpeg',
  [TransferSyntax.JpegLsLossless]: 'jpeg-ls',
  [TransferSyntax.JpegLsNearLossless]: 'jpeg-ls',
  [TransferSyntax.Jpeg2000Lossless]: 'jpeg2000',
  [TransferSyntax.Jpeg2000]: 'jpeg2000',
  [TransferSyntax.HtJpeg2000Lossless]: 'htj2k',
  [TransferSyntax.HtJpeg2000RpclLossless]: 'htj2k',
  [TransferSyntax.HtJpeg2000]: 'htj2k',
  [TransferSyntax.RleLossless]: 'rle',
});

const NATIVE_TRANSFER_SYNTAXES: ReadonlySet<string> = new Set([
  TransferSyntax.ImplicitVRLittleEndian,
  TransferSyntax.ExplicitVRLittleEndian,
  TransferSyntax.DeflatedExplicitVRLittleEndian,
  TransferSyntax.ExplicitVRBigEndian,
]);

/** Transfer syntaxes whose pixel data decodeFrame can decode. */
export const DECODABLE_TRANSFER_SYNTAXES: readonly string[] = Object.freeze([
  ...NATIVE_TRANSFER_SYNTAXES,
  ...Object.keys(CODEC_BY_TRANSFER_SYNTAX),
]);

/** Whether decodeFrame can decode this transfer syntax's pixel data. */
export function canDecodeTransferSyntax(transferSyntaxUid: string): boolean {
  return NATIVE_TRANSFER_SYNTAXES.has(transferSyntaxUid) || transferSyntaxUid in CODEC_BY_TRANSFER_SYNTAX;
}

/** Whether decoding this instance's pixels needs the WASM codecs (`initializeCodecs()`). */
export function needsCodecs(instance: ParsedInstance): boolean {
  return instance.transferSyntaxUid in CODEC_BY_TRANSFER_SYNTAX;
}

interface ImagePixel {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  pixelRepresentation: number;
  planarConfiguration: number;
  photometricInterpretation: string;
}

const COLOUR_PHOTOMETRICS = new Set(['RGB', 'YBR_FULL', 'YBR_FULL_422', 'YBR_PARTIAL_422', 'YBR_PARTIAL_420', 'YBR_ICT', 'YBR_RCT']);
const GREY_PHOTOMETRICS = new Set(['MONOCHROME1', 'MONOCHROME2', 'PALETTE COLOR']);

function requiredUint16(dataSet: DataSet, tag: string, name: string): number {
  const element = dataSet.elements[tag];
  const value = element && element.length >= 2 ? dataSet.uint16(tag) : undefined;
  if (value === undefined) throw new PixelDataError('missing_attribute', `${name} is missing`);
  return value;
}

/** Read and sanity-check the Image Pixel module (PS3.3 C.7.6.3). */
export function readImagePixel(instance: ParsedInstance): ImagePixel {
  const dataSet = dataSetOf(instance);
  const rows = requiredUint16(dataSet, Tag.Rows, 'Rows (0028,0010)');
  const columns = requiredUint16(dataSet, Tag.Columns, 'Columns (0028,0011)');
  const samplesPerPixel = requiredUint16(dataSet, Tag.SamplesPerPixel, 'Samples per Pixel (0028,0002)');
  const bitsAllocated = requiredUint16(dataSet, Tag.BitsAllocated, 'Bits Allocated (0028,0100)');
  const bitsStored = requiredUint16(dataSet, Tag.BitsStored, 'Bits Stored (0028,0101)');
  const highBit = dataSet.elements[Tag.HighBit] ? (dataSet.uint16(Tag.HighBit) ?? bitsStored - 1) : bitsStored - 1;
  const pixelRepresentation = dataSet.elements[Tag.PixelRepresentation] ? (dataSet.uint16(Tag.PixelRepresentation) ?? 0) : 0;
  const planarConfiguration = dataSet.elements[Tag.PlanarConfiguration] ? (dataSet.uint16(Tag.PlanarConfiguration) ?? 0) : 0;
  const photometricInterpretation = (dataSet.string(Tag.PhotometricInterpretation) ?? '').toUpperCase();

  if (bitsAllocated === 1) {
    throw new PixelDataError(
      'not_an_image',
      '1-bit pixel data (a segmentation or bitmap), not a grey-scale or colour image to analyse',
    );
  }
  if (rows === 0 || columns === 0) throw new PixelDataError('invalid_image_pixel', 'Rows or Columns is zero');
  if (bitsAllocated !== 8 && bitsAllocated !== 16 && bitsAllocated !== 32) {
    throw new PixelDataError('invalid_image_pixel', `Bits Allocated ${bitsAllocated} is not 8, 16 or 32`);
  }
  if (bitsStored < 1 || bitsStored > bitsAllocated || highBit < bitsStored - 1 || highBit >= bitsAllocated) {
    throw new PixelDataError('invalid_image_pixel', 'Bits Stored / High Bit are inconsistent with Bits Allocated');
  }
  if (pixelRepresentation !== 0 && pixelRepresentation !== 1) {
    throw new PixelDataError('invalid_image_pixel', 'Pixel Representation is neither 0 nor 1');
  }
  if (samplesPerPixel === 1) {
    if (!GREY_PHOTOMETRICS.has(photometricInterpretation)) {
      throw new PixelDataError('invalid_image_pixel', 'one sample per pixel but the photometric interpretation is not grey');
    }
  } else if (samplesPerPixel === 3) {
    if (!COLOUR_PHOTOMETRICS.has(photometricInterpretation)) {
      throw new PixelDataError('invalid_image_pixel', 'three samples per pixel but the photometric interpretation is not colour');
    }
  } else {
    throw new PixelDataError('invalid_image_pixel', `Samples per Pixel ${samplesPerPixel} is not 1 or 3`);
  }
  if (rows * columns * samplesPerPixel * (bitsAllocated / 8) > MAX_FRAME_BYTES) {
    throw new PixelDataError('frame_too_large', `a ${columns}x${rows} frame is larger than ${MAX_FRAME_BYTES} bytes`);
  }
  return { rows, columns, samplesPerPixel, bitsAllocated, bitsStored, highBit, pixelRepresentation, planarConfiguration, photometricInterpretation };
}

/**
 * Decode frame `frameIndex` (0-based). Compressed syntaxes need `initializeCodecs()` to have
 * completed (else CodecsNotReadyError); `decodeFrameAsync` does that for you.
 */
export function decodeFrame(instance: ParsedInstance, frameIndex: number): DecodedFrame {
  if (!instance.hasPixelData) throw new PixelDataError('no_pixel_data', 'the instance has no Pixel Data (7FE0,0010)');
  if (!Number.isInteger(frameIndex) || frameIndex < 0 || frameIndex >= instance.numberOfFrames) {
    throw new RangeError(`frame index ${frameIndex} is outside 0..${instance.numberOfFrames - 1}`);
  }
  const { transferSyntaxUid } = instance;
  if (!canDecodeTransferSyntax(transferSyntaxUid)) throw new UnsupportedTransferSyntaxError(transferSyntaxUid);
  const pixel = readImagePixel(instance);
  const dataSet = dataSetOf(instance);
  const element = dataSet.elements[Tag.PixelData]!;

  const codec = CODEC_BY_TRANSFER_SYNTAX[transferSyntaxUid];
  if (codec === undefined) {
    if (element.encapsulatedPixelData) {
      throw new PixelDataError('unexpected_encapsulation', 'pixel data is encapsulated under a native transfer syntax');
    }
    return decodeNativeFrame(instance, dataSet, element, pixel, frameIndex);
  }
  if (!element.encapsulatedPixelData) {
    throw new PixelDataError('not_encapsulated', 'pixel data is not encapsulated under a compressed transfer syntax');
  }
  const encoded = encapsulatedFrame(dataSet, element, instance.numberOfFrames, frameIndex);
  return decodeCompressedFrame(codec, encoded, pixel);
}

/** decodeFrame, after loading (or reloading) the WASM codecs when the syntax needs them. */
export async function decodeFrameAsync(instance: ParsedInstance, frameIndex: number): Promise<DecodedFrame> {
  if (needsCodecs(instance)) {
    // A concurrent caller may poison and reload the module between our await and the decode.
    for (let attempt = 0; !codecsReady(); attempt++) {
      if (attempt === 3) throw new CodecsNotReadyError();
      await initializeCodecs();
    }
  }
  return decodeFrame(instance, frameIndex);
}

// ---------------------------------------------------------------------------------------------
// Native pixel data

function bytesPerFrame(pixel: ImagePixel): number {
  const samples = pixel.photometricInterpretation === 'YBR_FULL_422' ? 2 : pixel.samplesPerPixel;
  return pixel.rows * pixel.columns * samples * (pixel.bitsAllocated / 8);
}

function decodeNativeFrame(
  instance: ParsedInstance,
  dataSet: DataSet,
  element: Element,
  pixel: ImagePixel,
  frameIndex: number,
): DecodedFrame {
  if (pixel.photometricInterpretation === 'YBR_FULL_422' && pixel.bitsAllocated !== 8) {
    throw new PixelDataError('unsupported_pixel_format', 'native YBR_FULL_422 is supported with 8 bits allocated only');
  }
  const frameBytes = bytesPerFrame(pixel);
  const needed = frameBytes * instance.numberOfFrames;
  if (element.length < needed) {
    throw new PixelDataError(
      'pixel_length_mismatch',
      `Pixel Data holds ${element.length} bytes; ${instance.numberOfFrames} frame(s) of ${pixel.columns}x${pixel.rows} need ${needed}`,
    );
  }
  const start = element.dataOffset + frameIndex * frameBytes;
  // Copy into a fresh, aligned buffer (the data set's offset may be odd).
  const bytes = dataSet.byteArray.slice(start, start + frameBytes);
  if (instance.transferSyntaxUid === TransferSyntax.ExplicitVRBigEndian && pixel.bitsAllocated > 8) {
    swapBytes(bytes, pixel.bitsAllocated / 8);
  }
  return finishFrame(bytes, pixel, pixel.photometricInterpretation, pixel.planarConfiguration);
}

function swapBytes(bytes: Uint8Array, width: number): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a]!;
      bytes[a] = bytes[b]!;
      bytes[b] = t;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Encapsulated pixel data

function parserCall<T>(what: string, fn: () => T): T {
  try {
    return fn();
  } catch (thrown) {
    throw new PixelDataError('bad_encapsulation', `${what}: ${describeParserFailure(thrown)}`, { cause: thrown });
  }
}

/** Does this fragment start a codestream (JPEG SOI, JPEG 2000 SOC, or a JP2 signature box)? */
function startsCodestream(bytes: Uint8Array, at: number): boolean {
  const b0 = bytes[at];
  const b1 = bytes[at + 1];
  if (b0 === 0xff && (b1 === 0xd8 || b1 === 0x4f)) return true;
  return b0 === 0x00 && b1 === 0x00 && bytes[at + 2] === 0x00 && bytes[at + 3] === 0x0c && bytes[at + 4] === 0x6a;
}

/**
 * The bytes of one frame: all fragments for a single frame; for several frames the Basic Offset
 * Table when present, else one fragment per frame, else fragments grouped by codestream starts.
 */
export function encapsulatedFrame(dataSet: DataSet, element: Element, numberOfFrames: number, frameIndex: number): Uint8Array {
  const fragments = element.fragments ?? [];
  if (fragments.length === 0) throw new PixelDataError('no_fragments', 'encapsulated pixel data has no fragments');
  if (numberOfFrames === 1) {
    return parserCall('reading fragments', () =>
      dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length),
    );
  }
  const offsets = element.basicOffsetTable ?? [];
  if (offsets.length > 0) {
    if (offsets.length !== numberOfFrames || offsets.some((o, i) => i > 0 && o <= offsets[i - 1]!)) {
      throw new PixelDataError('bad_offset_table', 'the Basic Offset Table does not list one increasing offset per frame');
    }
    return parserCall('reading a frame by the Basic Offset Table', () =>
      dicomParser.readEncapsulatedImageFrame(dataSet, element, frameIndex),
    );
  }
  if (fragments.length === numberOfFrames) {
    return parserCall('reading a fragment', () =>
      dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, frameIndex, 1),
    );
  }
  const starts: number[] = [];
  fragments.forEach((fragment, i) => {
    if (startsCodestream(dataSet.byteArray, fragment.position)) starts.push(i);
  });
  if (starts.length !== numberOfFrames || starts[0] !== 0) {
    throw new PixelDataError(
      'frame_layout',
      `cannot tell which of ${fragments.length} fragments belong to which of ${numberOfFrames} frames (no Basic Offset Table)`,
    );
  }
  const first = starts[frameIndex]!;
  const count = (starts[frameIndex + 1] ?? fragments.length) - first;
  return parserCall('reading fragments', () =>
    dicomParser.readEncapsulatedPixelDataFromFragments(dataSet, element, first, count),
  );
}

function checkCodestream(codec: CodecName, encoded: Uint8Array, pixel: ImagePixel): void {
  if (codec === 'rle') {
    const problem = checkRleHeader(encoded, pixel.samplesPerPixel * (pixel.bitsAllocated / 8));
    if (problem) throw new PixelDataError('codestream_mismatch', problem);
    return;
  }
  const geometry = codec === 'jpeg' || codec === 'jpeg-ls' ? readJpegGeometry(encoded) : readJpeg2000Geometry(encoded);
  if (!geometry) throw new PixelDataError('bad_codestream', `the ${codec} frame has no readable image header`);
  if (geometry.rows !== pixel.rows || geometry.columns !== pixel.columns || geometry.components !== pixel.samplesPerPixel) {
    throw new PixelDataError(
      'codestream_mismatch',
      `the ${codec} frame is ${geometry.columns}x${geometry.rows}x${geometry.components}, ` +
        `the header says ${pixel.columns}x${pixel.rows}x${pixel.samplesPerPixel}`,
    );
  }
  if (geometry.precision > pixel.bitsAllocated) {
    throw new PixelDataError('codestream_mismatch', `the ${codec} frame has ${geometry.precision}-bit samples, more than Bits Allocated`);
  }
}

function decodeCompressedFrame(codec: CodecName, encoded: Uint8Array, pixel: ImagePixel): DecodedFrame {
  checkCodestream(codec, encoded, pixel);
  let output;
  try {
    output = decodeWithCodec(codec, pixel, encoded);
  } catch (error) {
    if (error instanceof CodecsNotReadyError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    throw new PixelDataError('decode_failed', `the ${codec} decoder failed: ${message}`, { cause: error });
  }
  // JPEG colour comes back as RGB; JPEG 2000 applies its own inverse colour transform.
  let photometric = output.photometricInterpretation ?? pixel.photometricInterpretation;
  if (pixel.samplesPerPixel === 3 && (codec === 'jpeg2000' || codec === 'htj2k') && /^YBR_(ICT|RCT)$/.test(pixel.photometricInterpretation)) {
    photometric = 'RGB';
  }
  // RLE and the JPEGs decode whole pixels, never YBR_FULL_422's subsampled layout.
  if (photometric === 'YBR_FULL_422' || photometric === 'YBR_PARTIAL_422') photometric = 'YBR_FULL';
  const expected = pixel.rows * pixel.columns * pixel.samplesPerPixel * (pixel.bitsAllocated / 8);
  if (output.bytes.length !== expected) {
    throw new PixelDataError(
      'decoded_length_mismatch',
      `the ${codec} decoder produced ${output.bytes.length} bytes, expected ${expected} for ${pixel.columns}x${pixel.rows}x${pixel.samplesPerPixel}`,
    );
  }
  return finishFrame(output.bytes, { ...pixel }, photometric, output.planarConfiguration ?? 0);
}

// ---------------------------------------------------------------------------------------------
// Typed arrays and colour

/** Turn little-endian frame bytes into the typed array, interleave planes, convert YBR to RGB. */
function finishFrame(bytes: Uint8Array, pixel: ImagePixel, photometric: string, planarConfiguration: number): DecodedFrame {
  const { rows, columns, samplesPerPixel, bitsAllocated, bitsStored, highBit, pixelRepresentation } = pixel;
  if (photometric === 'YBR_FULL_422') {
    bytes = expandYbrFull422(bytes, rows, columns);
    photometric = 'YBR_FULL';
    planarConfiguration = 0;
  }
  let data = typedArrayOf(bytes, bitsAllocated, pixelRepresentation);
  if (samplesPerPixel === 3) {
    if (planarConfiguration === 1) data = interleavePlanes(data, rows * columns);
    if (photometric === 'YBR_FULL') ybrFullToRgb(data, bitsAllocated);
    else if (photometric === 'YBR_PARTIAL_422' || photometric === 'YBR_PARTIAL_420') ybrPartialToRgb(data, bitsAllocated);
    else if (photometric !== 'RGB') {
      throw new PixelDataError('unsupported_pixel_format', `cannot convert ${photometric} to RGB`);
    }
    photometric = 'RGB';
  }
  return { rows, columns, samplesPerPixel, bitsAllocated, bitsStored, highBit, pixelRepresentation, photometricInterpretation: photometric, data };
}

function typedArrayOf(bytes: Uint8Array, bitsAllocated: number, pixelRepresentation: number): PixelArray {
  const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes.buffer : bytes.slice().buffer;
  const signed = pixelRepresentation === 1;
  switch (bitsAllocated) {
    case 8:
      return signed ? new Int8Array(buffer) : new Uint8Array(buffer);
    case 16:
      return littleEndianHost ? (signed ? new Int16Array(buffer) : new Uint16Array(buffer)) : readWords16(bytes, signed);
    default:
      return littleEndianHost ? (signed ? new Int32Array(buffer) : new Uint32Array(buffer)) : readWords32(bytes, signed);
  }
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function readWords16(bytes: Uint8Array, signed: boolean): PixelArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = signed ? new Int16Array(bytes.length / 2) : new Uint16Array(bytes.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = signed ? view.getInt16(i * 2, true) : view.getUint16(i * 2, true);
  return out;
}

function readWords32(bytes: Uint8Array, signed: boolean): PixelArray {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = signed ? new Int32Array(bytes.length / 4) : new Uint32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = signed ? view.getInt32(i * 4, true) : view.getUint32(i * 4, true);
  return out;
}

function interleavePlanes(data: PixelArray, pixels: number): PixelArray {
  const out = new (data.constructor as new (n: number) => PixelArray)(data.length);
  for (let i = 0; i < pixels; i++) {
    out[3 * i] = data[i]!;
    out[3 * i + 1] = data[pixels + i]!;
    out[3 * i + 2] = data[2 * pixels + i]!;
  }
  return out;
}

/** Y0 Y1 Cb Cr per horizontal pair (PS3.3 C.7.6.3.1.2) → Y Cb Cr per pixel. */
function expandYbrFull422(bytes: Uint8Array, rows: number, columns: number): Uint8Array {
  const out = new Uint8Array(rows * columns * 3);
  for (let pair = 0, o = 0; pair < (rows * columns) / 2; pair++) {
    const at = pair * 4;
    const cb = bytes[at + 2]!;
    const cr = bytes[at + 3]!;
    out[o++] = bytes[at]!; out[o++] = cb; out[o++] = cr;
    out[o++] = bytes[at + 1]!; out[o++] = cb; out[o++] = cr;
  }
  return out;
}

/** YBR_FULL → RGB (PS3.3 C.7.6.3.1.2, the inverse of the JFIF equations), in place. */
function ybrFullToRgb(data: PixelArray, bitsAllocated: number): void {
  const max = 2 ** Math.min(bitsAllocated, 16) - 1;
  const half = (max + 1) / 2;
  for (let i = 0; i < data.length; i += 3) {
    const y = data[i]!;
    const cb = data[i + 1]! - half;
    const cr = data[i + 2]! - half;
    data[i] = clamp(Math.round(y + 1.402 * cr), max);
    data[i + 1] = clamp(Math.round(y - 0.344136 * cb - 0.714136 * cr), max);
    data[i + 2] = clamp(Math.round(y + 1.772 * cb), max);
  }
}

/** YBR_PARTIAL_* (8-bit, Y in 16..235, C in 16..240) → RGB, in place. */
function ybrPartialToRgb(data: PixelArray, bitsAllocated: number): void {
  const max = 2 ** Math.min(bitsAllocated, 16) - 1;
  for (let i = 0; i < data.length; i += 3) {
    const y = 1.1644 * (data[i]! - 16);
    const cb = data[i + 1]! - 128;
    const cr = data[i + 2]! - 128;
    data[i] = clamp(Math.round(y + 1.596 * cr), max);
    data[i + 1] = clamp(Math.round(y - 0.3918 * cb - 0.813 * cr), max);
    data[i + 2] = clamp(Math.round(y + 2.0172 * cb), max);
  }
}

function clamp(value: number, max: number): number {
  return value < 0 ? 0 : value > max ? max : value;
}
