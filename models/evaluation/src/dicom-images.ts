// Reads a folder of DICOM files into the presentation images the worker would read, the way
// ingest prepares them: first frame (up to `maxFrames` of a multi-frame object), the grey-scale
// pipeline, resized from full resolution to the model's input size with the analysis-input kernel.
// Files that are not images, or cannot be decoded, are listed as skipped with the reason.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { ANALYSIS_INPUT_RESIZE_KERNEL, analysisInputSize } from '@cxr/contracts';
import { decodeFrameAsync, parseInstance, toPresentation } from '@cxr/dicom';
import type { PresentationImage } from '@cxr/inference';

export interface DicomImage {
  name: string;
  image: PresentationImage;
  modality: string | undefined;
}

export async function readDicomImages(dir: string, options: { inputSize: number; maxFrames?: number }): Promise<{ images: DicomImage[]; skipped: { name: string; reason: string }[] }> {
  const images: DicomImage[] = [];
  const skipped: { name: string; reason: string }[] = [];
  for (const name of (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.dcm')).sort()) {
    try {
      const instance = parseInstance(await readFile(join(dir, name)));
      if (!instance.hasPixelData) {
        skipped.push({ name, reason: 'no pixel data' });
        continue;
      }
      const frames = Math.min(instance.numberOfFrames, options.maxFrames ?? 1);
      for (let k = 0; k < frames; k++) {
        const presentation = toPresentation(await decodeFrameAsync(instance, k), instance);
        const size = analysisInputSize(presentation.width, presentation.height, options.inputSize);
        const raw = await sharp(presentation.data, { raw: { width: presentation.width, height: presentation.height, channels: 1 } })
          .resize(size.width, size.height, { kernel: ANALYSIS_INPUT_RESIZE_KERNEL, fit: 'fill' })
          .toColourspace('grey16')
          .raw({ depth: 'ushort' })
          .toBuffer();
        images.push({
          name: frames > 1 ? `${name}#${k}` : name,
          modality: instance.modality,
          image: { ...size, data: new Uint16Array(raw.buffer, raw.byteOffset, raw.length / 2), source: { width: presentation.width, height: presentation.height } },
        });
      }
    } catch (error) {
      skipped.push({ name, reason: (error as Error).message.slice(0, 200) });
    }
  }
  return { images, skipped };
}
