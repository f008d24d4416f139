import sharp from 'sharp';
import { ANALYSIS_INPUT_RESIZE_KERNEL, analysisInputSize, encodeAnalysisInput } from '@cxr/contracts';
import { deidentifyMetadata, parseInstance, toPresentation, type DicomJsonDataset, type IsolatedFrameDecoder } from '@cxr/dicom';
import { presentationPixelSpacingMm } from './pixel-spacing.ts';

export interface AnalysisImage {
  /** 16-bit grey PNG: the DICOM grey-scale pipeline applied, bright = dense. */
  presentationPng: Buffer;
  /** 8-bit grey PNG for display and overlays. */
  previewPng: Buffer;
  /**
   * The same image for the inference worker: raw grey16, long side ≤ the model's input size
   * (`analysis-input.ts` in @cxr/contracts), so the worker neither fetches nor decodes the
   * full-size PNG per image, nor resizes it again.
   */
  analysisInput: Buffer;
  /** The instance's metadata, de-identified (PS3.15 Basic Profile, retaining sex, age in years and the device make and model), as DICOM JSON. */
  metadata: DicomJsonDataset;
  width: number;
  height: number;
  /** mm per pixel of the presentation image, when the header says (see pixel-spacing.ts). */
  pixelSpacingMm?: number;
}

const PREVIEW_MAX_SIZE = 1024;

function fitWithin(width: number, height: number, max: number): { width: number; height: number } {
  const scale = Math.min(1, max / Math.max(width, height));
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/**
 * Turns a stored instance into what analysis and display need: decode the first frame, run
 * the grey-scale pipeline (modality LUT, VOI, MONOCHROME1 inversion), and downsize.
 * Throws the DICOM library's permanent errors for pixel data it cannot decode.
 *
 * Decoding runs in a worker thread with a time limit (`IsolatedFrameDecoder`): compressed pixel
 * data is untrusted input, and a hostile frame can keep a WASM codec busy for many seconds.
 */
export async function prepareAnalysisImage(
  bytes: Uint8Array,
  /** Long sides (px): of the presentation image and of the raw analysis input. */
  sizes: { presentation: number; input: number },
  decoder: IsolatedFrameDecoder,
  replaceUid: (uid: string) => string,
): Promise<AnalysisImage> {
  const instance = parseInstance(bytes);
  const metadata = deidentifyMetadata(instance, replaceUid);
  const frame = await decoder.decode(bytes, 0);
  const presentation = toPresentation(frame, instance);
  const size = fitWithin(presentation.width, presentation.height, sizes.presentation);
  const raw = { width: presentation.width, height: presentation.height, channels: 1 as const };

  const resized16 = await sharp(presentation.data, { raw })
    .resize(size.width, size.height, { kernel: 'lanczos3', fit: 'fill' })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer({ resolveWithObject: true });
  const pixels16 = new Uint16Array(resized16.data.buffer, resized16.data.byteOffset, resized16.data.length / 2);
  const presentationPng = await sharp(pixels16, { raw: { width: size.width, height: size.height, channels: 1 } })
    .toColourspace('grey16')
    .png({ compressionLevel: 6 })
    .toBuffer();

  const previewSize = fitWithin(size.width, size.height, PREVIEW_MAX_SIZE);
  const pixels8 = new Uint8Array(pixels16.length);
  for (let i = 0; i < pixels16.length; i++) pixels8[i] = pixels16[i]! >> 8;
  const previewPng = await sharp(pixels8, { raw: { width: size.width, height: size.height, channels: 1 } })
    .resize(previewSize.width, previewSize.height, { fit: 'fill' })
    .png()
    .toBuffer();
  // Resized from the full-resolution presentation pixels, like the presentation image itself, with
  // the kernel that makes it exactly what the worker's letterbox would make of them
  // (ANALYSIS_INPUT_RESIZE_KERNEL; docs/model-package.md).
  const inputSize = analysisInputSize(presentation.width, presentation.height, sizes.input);
  const input16 = await sharp(presentation.data, { raw })
    .resize(inputSize.width, inputSize.height, { kernel: ANALYSIS_INPUT_RESIZE_KERNEL, fit: 'fill' })
    .toColourspace('grey16')
    .raw({ depth: 'ushort' })
    .toBuffer();
  const analysisInput = encodeAnalysisInput({ ...inputSize, data: new Uint16Array(input16.buffer, input16.byteOffset, input16.length / 2) });
  const pixelSpacingMm = presentationPixelSpacingMm(metadata, presentation.width, size.width);
  return { presentationPng, previewPng, analysisInput, metadata, width: size.width, height: size.height, ...(pixelSpacingMm !== undefined ? { pixelSpacingMm } : {}) };
}
