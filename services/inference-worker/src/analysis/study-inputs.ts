// Reading a study's images for analysis: the small raw analysis input when the request names one
// (one GET, no decode), else the full-size presentation PNG (jobs queued before ingest wrote
// analysis inputs, an input removed since, or one with fewer pixels than the model takes: a model
// is never fed an upsampled image). One storage round trip per image in the usual case: the GET
// is streamed with a size limit instead of being preceded by a HEAD request.
import type { AnalysisImage, AnalysisRequest } from '@cxr/contracts';
import { decodePresentationPng, inputCoversModel, readAnalysisInput, type PresentationImage } from '@cxr/inference';
import { ObjectNotFoundError, type ObjectStore } from '@cxr/platform';

/** Largest object read as an input: a 16384² grey16 image with its header, or its PNG. */
const MAX_INPUT_BYTES = 16 + 16384 * 16384 * 2;

export type InputKind = 'analysis-input' | 'presentation-png';

export interface StudyImages {
  images: PresentationImage[];
  /** Which stored form each image was read from, in request order. */
  kinds: InputKind[];
  /** Summed over the study's images (they are read concurrently). */
  fetchMs: number;
  decodeMs: number;
}

async function readImage(objects: ObjectStore, bucket: string, image: AnalysisImage, modelInputSize: number): Promise<{ image: PresentationImage; kind: InputKind; fetchMs: number; decodeMs: number }> {
  const t0 = performance.now();
  if (image.analysisInputKey) {
    try {
      const bytes = await objects.get(bucket, image.analysisInputKey, MAX_INPUT_BYTES);
      const t1 = performance.now();
      const decoded = readAnalysisInput(bytes, image);
      if (inputCoversModel(decoded, image, modelInputSize)) return { image: decoded, kind: 'analysis-input', fetchMs: t1 - t0, decodeMs: performance.now() - t1 };
    } catch (error) {
      if (!(error instanceof ObjectNotFoundError)) throw error;
    }
  }
  const png = await objects.get(bucket, image.imageKey, MAX_INPUT_BYTES);
  const t1 = performance.now();
  const decoded = await decodePresentationPng(png, image);
  return { image: decoded, kind: 'presentation-png', fetchMs: t1 - t0, decodeMs: performance.now() - t1 };
}

/** `modelInputSize`: the input size (px) of the model that will run, from its manifest. */
export async function readStudyImages(request: AnalysisRequest, objects: ObjectStore, bucket: string, modelInputSize: number): Promise<StudyImages> {
  const read = await Promise.all(request.images.map((image) => readImage(objects, bucket, image, modelInputSize)));
  return {
    images: read.map((r) => r.image),
    kinds: read.map((r) => r.kind),
    fetchMs: read.reduce((s, r) => s + r.fetchMs, 0),
    decodeMs: read.reduce((s, r) => s + r.decodeMs, 0),
  };
}
