/**
 * The analysis input: the small, uncompressed grey16 image ingest stores for the inference worker
 * beside the full-size presentation PNG (`objectKeys.analysisInput`).
 *
 * Why a raw buffer rather than a PNG: the worker reads one per image on its hot path, and decoding
 * a 16-bit PNG costs more than the model on a small CPU, while a raw buffer is used in place. Why
 * a small long side (ingest's `INGEST_ANALYSIS_INPUT_SIZE`, by default `ANALYSIS_INPUT_LONG_SIDE`):
 * models take inputs of a few hundred pixels, so the full 1024 px presentation image was fetched
 * and decoded only to be shrunk again. Models still apply their own letterbox resize and
 * normalisation (manifest `input`) to this image; when its long side is the model's input size,
 * that letterbox is the image itself and no resize runs at all. A worker whose model takes more
 * pixels than a stored input has reads the presentation image instead (never upsamples).
 *
 * Layout (all little-endian):
 *
 * | offset | size | content |
 * |---|---|---|
 * | 0 | 6 | ASCII `CXRU16` |
 * | 6 | 2 | uint16 format version, `1` |
 * | 8 | 4 | uint32 width |
 * | 12 | 4 | uint32 height |
 * | 16 | 2·width·height | uint16 pixels, row-major, grey16 where bright = dense (grey-scale pipeline applied) |
 */

/**
 * Default long side of the analysis input in pixels (smaller originals are stored as they are):
 * the reference model's input size. Deployments whose model takes more set ingest's
 * `INGEST_ANALYSIS_INPUT_SIZE` to it.
 */
export const ANALYSIS_INPUT_LONG_SIDE = 256;
/**
 * The sharp kernel the analysis input is resized with from full resolution: the reference model's
 * letterbox kernel (manifest `input.resize.kernel`), so that at the model's input size the tensor
 * is exactly the one the letterbox makes of the full-resolution image. Everything that writes an
 * analysis input (ingest, the worker's tests and benchmarks) uses it.
 */
export const ANALYSIS_INPUT_RESIZE_KERNEL = 'linear';
export const ANALYSIS_INPUT_CONTENT_TYPE = 'application/vnd.cxr.grey16';
export const ANALYSIS_INPUT_HEADER_BYTES = 16;
const MAGIC = 'CXRU16';
const FORMAT_VERSION = 1;
const MAX_SIDE = 16384;

export interface AnalysisInputImage {
  width: number;
  height: number;
  /** Row-major grey16, bright = dense. */
  data: Uint16Array;
}

/** An analysis input whose bytes do not follow the layout above. */
export class AnalysisInputFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AnalysisInputFormatError';
  }
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Size of the analysis input for an image of `width`×`height`: long side at most the limit, aspect kept. */
export function analysisInputSize(width: number, height: number, longSide = ANALYSIS_INPUT_LONG_SIDE): { width: number; height: number } {
  const scale = Math.min(1, longSide / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export function encodeAnalysisInput(image: AnalysisInputImage): Buffer {
  const { width, height, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE)
    throw new RangeError(`invalid analysis input size ${width}x${height}`);
  if (data.length !== width * height) throw new RangeError(`analysis input has ${data.length} pixels, expected ${width}x${height}`);
  const out = Buffer.allocUnsafe(ANALYSIS_INPUT_HEADER_BYTES + data.length * 2);
  out.write(MAGIC, 0, 'ascii');
  out.writeUInt16LE(FORMAT_VERSION, 6);
  out.writeUInt32LE(width, 8);
  out.writeUInt32LE(height, 12);
  if (littleEndianHost) {
    out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), ANALYSIS_INPUT_HEADER_BYTES);
  } else {
    for (let i = 0; i < data.length; i++) out.writeUInt16LE(data[i]!, ANALYSIS_INPUT_HEADER_BYTES + i * 2);
  }
  return out;
}

/**
 * Reads an analysis input. On a little-endian host with an even offset the pixels are a view of
 * `bytes` (no copy), so keep `bytes` unchanged while the image is in use.
 */
export function decodeAnalysisInput(bytes: Uint8Array): AnalysisInputImage {
  if (bytes.length < ANALYSIS_INPUT_HEADER_BYTES) throw new AnalysisInputFormatError(`analysis input is ${bytes.length} bytes, shorter than its header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = String.fromCharCode(...bytes.subarray(0, MAGIC.length));
  if (magic !== MAGIC) throw new AnalysisInputFormatError('analysis input does not start with CXRU16');
  const version = view.getUint16(6, true);
  if (version !== FORMAT_VERSION) throw new AnalysisInputFormatError(`analysis input format version ${version} is not supported`);
  const width = view.getUint32(8, true);
  const height = view.getUint32(12, true);
  if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE) throw new AnalysisInputFormatError(`analysis input declares an invalid size ${width}x${height}`);
  const expected = ANALYSIS_INPUT_HEADER_BYTES + width * height * 2;
  if (bytes.length !== expected) throw new AnalysisInputFormatError(`analysis input is ${bytes.length} bytes, expected ${expected} for ${width}x${height}`);
  const start = bytes.byteOffset + ANALYSIS_INPUT_HEADER_BYTES;
  let data: Uint16Array;
  if (littleEndianHost && start % 2 === 0) {
    data = new Uint16Array(bytes.buffer, start, width * height);
  } else {
    data = new Uint16Array(width * height);
    for (let i = 0; i < data.length; i++) data[i] = view.getUint16(ANALYSIS_INPUT_HEADER_BYTES + i * 2, true);
  }
  return { width, height, data };
}
