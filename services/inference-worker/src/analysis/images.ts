// Image codecs on the worker's hot path. The preferred input is the small raw analysis input
// (used in place, no decode); the 16-bit presentation PNG is the fallback for jobs queued before
// ingest stored one. Heatmaps are tiny (about the model's 32×32 grid), so they are written as PNG
// here with zlib directly: a sharp pipeline costs ~1 ms per call whatever the size, 30× more.
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { AnalysisInputFormatError, decodeAnalysisInput } from '@cxr/contracts';
import { PermanentError } from '@cxr/platform';
import type { PresentationImage } from '@cxr/inference';

/**
 * Reads a stored analysis input (`analysis-input.ts` in @cxr/contracts). It is smaller than the
 * presentation image but must show the same picture: its aspect ratio must match `expected`
 * (the presentation image's size) to within rounding.
 */
export function readAnalysisInput(bytes: Buffer, expected: { width: number; height: number }): PresentationImage {
  let image;
  try {
    image = decodeAnalysisInput(bytes);
  } catch (error) {
    if (error instanceof AnalysisInputFormatError) throw new PermanentError(`analysis input is not readable: ${error.message}`, { cause: error });
    throw error;
  }
  const { width, height } = image;
  // Each side was rounded when it was scaled down; derived from the other side, the long side is
  // within a pixel, while the short side's rounding is magnified. So one side must agree.
  const widthAtThisHeight = (expected.width * height) / expected.height;
  const heightAtThisWidth = (expected.height * width) / expected.width;
  if (Math.abs(widthAtThisHeight - width) > 1 && Math.abs(heightAtThisWidth - height) > 1) {
    throw new PermanentError(`analysis input is ${width}x${height}, not the aspect ratio of the ${expected.width}x${expected.height} image`);
  }
  return image;
}

/** Decodes a stored 16-bit grey presentation PNG into the model library's image type. */
export async function decodePresentationPng(png: Buffer, expected: { width: number; height: number }): Promise<PresentationImage> {
  let decoded;
  try {
    decoded = await sharp(png).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new PermanentError(`analysis input is not a readable PNG: ${(error as Error).message}`, { cause: error });
  }
  const { width, height, channels } = decoded.info;
  if (width !== expected.width || height !== expected.height || channels !== 1) {
    throw new PermanentError(`analysis input is ${width}x${height}x${channels}, expected ${expected.width}x${expected.height} grey`);
  }
  const data = new Uint16Array(decoded.data.buffer, decoded.data.byteOffset, width * height);
  return { width, height, data };
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngChunk(type: string, data: Buffer): Buffer {
  const chunk = Buffer.alloc(12 + data.length);
  chunk.writeUInt32BE(data.length, 0);
  chunk.write(type, 4, 'ascii');
  data.copy(chunk, 8);
  chunk.writeUInt32BE(crc32(chunk.subarray(4, 8 + data.length)), 8 + data.length);
  return chunk;
}

/** A heatmap (values 0..1) as an 8-bit grey PNG (colour type 0, no filtering, zlib level 9). */
export function encodeHeatmapPng(heatmap: { width: number; height: number; data: Float32Array }): Buffer {
  const { width, height, data } = heatmap;
  const stride = width + 1; // each scanline starts with its filter type byte (0 = none)
  const scanlines = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) scanlines[y * stride + 1 + x] = Math.round(Math.min(1, Math.max(0, data[y * width + x]!)) * 255);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8; // bit depth
  header[9] = 0; // colour type: grey
  // compression 0, filter method 0, interlace 0: the zero bytes already there
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(scanlines, { level: 9 })),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}
