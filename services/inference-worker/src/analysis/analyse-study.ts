import {
  objectKeys,
  type AnalysisRequest, type AnalysisResult, type ImageResult,
} from '@cxr/contracts';
import { ModelUnavailableError, type ModelPackage, type PresentationImage } from '@cxr/inference';
import { PermanentError, withSpan, type ObjectStore } from '@cxr/platform';
import type { ModelRun } from '../models/model-slot.ts';
import { encodeHeatmapPng } from './images.ts';
import { readStudyImages, type InputKind } from './study-inputs.ts';

export interface AnalyseDeps {
  objects: ObjectStore;
  derivedBucket: string;
  /**
   * Runs the model and says which model ran each image; the worker passes its micro-batcher (over
   * the model slot) so concurrent jobs share a batch and a model switch never splits a job.
   */
  analyse: (images: PresentationImage[]) => Promise<ModelRun[]>;
  /** Input size (px) of the model in service: a stored analysis input with fewer pixels is not used. */
  modelInputSize: () => number;
  /** Where the result goes (default `objectKeys.analysisResult`; a shadow run stores it apart, `objectKeys.shadowResult`). */
  resultKeyOf?: (model: ModelPackage) => string;
}

/**
 * One analysis: read the de-identified inputs, run the model on all of the study's images (in
 * one batch, shared with other jobs that arrive at the same time), and store the result JSON with
 * every finding's heatmap inline (an 8-bit PNG of ~0.5 KB, base64): one object, one PUT, whatever
 * the number of images and findings. (Results written before held `heatmapKey`s naming one object
 * per heatmap; the report service reads both.) The key derives from the study and version, so a
 * re-run after a crash overwrites the same object. The result names the model that really ran.
 */
export async function analyseStudy(request: AnalysisRequest, deps: AnalyseDeps): Promise<{ result: AnalysisResult; resultKey: string; inputs: InputKind[] }> {
  const { objects, derivedBucket } = deps;
  const t0 = performance.now();
  const { images, kinds, fetchMs, decodeMs } = await withSpan('analysis.fetch', { attributes: { 'cxr.images': request.images.length } }, () => readStudyImages(request, objects, derivedBucket, deps.modelInputSize()));
  const t1 = performance.now();
  let runs: ModelRun[];
  try {
    // The scope's size check is on the image as acquired, not on the downsized analysis input.
    const sized = images.map((image, i) => ({ ...image, source: { width: request.images[i]!.width, height: request.images[i]!.height } }));
    runs = await withSpan('analysis.inference', { attributes: { 'cxr.images': images.length } }, () => deps.analyse(sized));
  } catch (error) {
    if (error instanceof ModelUnavailableError) throw error; // no fault of the input: retry
    // The model runs on inputs already read: a failure here is about this input
    // (batched failures are re-run per job first), so retrying it would fail the same way.
    throw new PermanentError(`the model refused the input: ${(error as Error).message}`, { cause: error });
  }
  const t2 = performance.now();
  const model = modelOf(runs);

  const labels = new Map(model.manifest.labels.map((l) => [l.code, l]));
  const imageResults: ImageResult[] = runs.map(({ analysis }, i) => {
    const input = request.images[i]!;
    const findings: ImageResult['findings'] = analysis.findings.map((finding) => ({
      code: finding.code,
      display: finding.display,
      coding: labels.get(finding.code)?.coding ?? null,
      probability: finding.probability,
      threshold: model.manifest.thresholds.values[finding.code] ?? 0.5,
      positive: finding.positive,
      heatmapPng: encodeHeatmapPng(finding.heatmap).toString('base64'),
      peak: finding.peak,
    }));
    return {
      instanceKey: input.instanceKey, imageKey: input.imageKey, width: input.width, height: input.height,
      ...(input.pixelSpacingMm !== undefined ? { pixelSpacingMm: input.pixelSpacingMm } : {}),
      findings, text: analysis.text, scope: analysis.scope,
    };
  });
  const t3 = performance.now();
  const sum = (k: 'preprocess' | 'vision' | 'decode' | 'scope') => runs.reduce((s, r) => s + r.analysis.timingsMs[k], 0);
  const result: AnalysisResult = {
    schemaVersion: 1,
    analysisId: request.analysisId,
    studyKey: request.studyKey,
    version: request.version,
    model: { id: model.manifest.id, version: model.manifest.version, sha256: model.sha256, executionProvider: model.executionProvider },
    images: imageResults,
    timingsMs: {
      load: t1 - t0, fetch: fetchMs, decode: decodeMs,
      model: t2 - t1, preprocess: sum('preprocess'), vision: sum('vision'), scope: sum('scope'), textDecode: sum('decode'),
      encode: t3 - t2, // heatmap PNG encodes (the result PUT that follows is not counted)
    },
    completedAt: new Date().toISOString(),
    // The clinical question goes on to the report unchanged (ingest scrubbed it).
    ...(request.indication !== undefined ? { indication: request.indication } : {}),
  };
  const resultKey = deps.resultKeyOf ? deps.resultKeyOf(model) : objectKeys.analysisResult(request.studyKey, request.version);
  await withSpan('analysis.store-result', {}, () => objects.putJson(derivedBucket, resultKey, result));
  return { result, resultKey, inputs: kinds };
}

/** The one model that ran a job's images (they always share a call: the batcher never splits a job). */
function modelOf(runs: ModelRun[]): ModelPackage {
  const model = runs[0]?.model;
  if (!model) throw new PermanentError('the model returned no analyses');
  if (runs.some((r) => r.model !== model)) throw new Error("a job's images were run by different models");
  return model;
}
