import sharp from 'sharp';
import { PermanentError } from '@cxr/platform';
import type { PresentationImage } from '@cxr/inference';

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

/** A heatmap (values 0..1) as a compact 8-bit grey PNG. */
export async function encodeHeatmapPng(heatmap: { width: number; height: number; data: Float32Array }): Promise<Buffer> {
  const bytes = new Uint8Array(heatmap.width * heatmap.height);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, heatmap.data[i]!)) * 255);
  return sharp(bytes, { raw: { width: heatmap.width, height: heatmap.height, channels: 1 } }).png({ compressionLevel: 9 }).toBuffer();
}
