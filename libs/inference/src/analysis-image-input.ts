// Reading the images a model analyses, as the worker stores them: the small raw analysis input
// (used in place, no decode) and the 16-bit presentation PNG, the fallback for jobs queued before
// ingest stored inputs. Shared by the worker and the local evaluation, so both feed a model the same pixels.
import sharp from 'sharp';
import { AnalysisInputFormatError, decodeAnalysisInput } from '@cxr/contracts';
import { PermanentError } from '@cxr/platform';
import type { PresentationImage } from './preprocess.ts';

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

/**
 * Whether a stored analysis input has all the pixels the model takes: its long side reaches the
 * model's input size, or it is the presentation image at full size (there is nothing larger).
 */
export function inputCoversModel(input: { width: number; height: number }, presentation: { width: number; height: number }, modelInputSize: number): boolean {
  return Math.max(input.width, input.height) >= modelInputSize || (input.width === presentation.width && input.height === presentation.height);
}
