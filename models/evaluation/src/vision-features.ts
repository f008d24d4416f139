// The rows of one vision-graph output for a set of images, computed with the package's own
// preprocessing: what the out-of-distribution detector is fitted on and scores.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { manifestPreprocessing, modelManifestSchema, type ModelManifest, type PresentationImage } from '@cxr/inference';

export interface VisionFeatures {
  manifest: ModelManifest;
  /** Rows of `output`, one per image. */
  rows(images: PresentationImage[], output: string): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export async function openVisionFeatures(dir: string, threads = 2): Promise<VisionFeatures> {
  const manifest = modelManifestSchema.parse(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  const session = await ort.InferenceSession.create(join(dir, manifest.input.file), { intraOpNumThreads: threads });
  const preprocessing = manifestPreprocessing(manifest);
  const { size, channels } = preprocessing;
  const per = channels * size * size;
  return {
    manifest,
    async rows(images, output) {
      const rows: Float32Array[] = [];
      for (let i = 0; i < images.length; i += 16) {
        const batch = images.slice(i, i + 16);
        const tensor = new Float32Array(batch.length * per);
        await Promise.all(batch.map((image, n) => preprocessing.into(image, tensor.subarray(n * per, (n + 1) * per))));
        const out = await session.run({ [manifest.input.name]: new ort.Tensor('float32', tensor, [batch.length, channels, size, size]) });
        const value = out[output] as ort.Tensor | undefined;
        if (!value) throw new Error(`the vision graph has no output '${output}'`);
        const width = value.dims[1]!;
        const data = value.data as Float32Array;
        for (let n = 0; n < batch.length; n++) rows.push(data.slice(n * width, (n + 1) * width));
      }
      return rows;
    },
    close: () => session.release(),
  };
}
