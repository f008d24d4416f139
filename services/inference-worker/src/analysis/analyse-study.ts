import {
  objectKeys,
  type AnalysisRequest, type AnalysisResult, type ImageResult,
} from '@cxr/contracts';
import { ModelUnavailableError, type ImageAnalysis, type ModelPackage, type PresentationImage } from '@cxr/inference';
import { PermanentError, withSpan, type ObjectStore } from '@cxr/platform';
import { encodeHeatmapPng } from './images.ts';
import { readStudyImages, type InputKind } from './study-inputs.ts';

export interface AnalyseDeps {
  objects: ObjectStore;
  derivedBucket: string;
  model: ModelPackage;
  /** Runs the model; the worker passes its micro-batcher so concurrent jobs share a batch. */
  analyse: (images: PresentationImage[]) => Promise<ImageAnalysis[]>;
}

/** Most heatmap PUTs of one job in flight at once. */
const PUT_CONCURRENCY = 8;

async function runLimited(tasks: (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) await tasks[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, lane));
}

/**
 * One analysis: read the de-identified inputs, run the model on all of the study's images (in
 * one batch, shared with other jobs that arrive at the same time), store heatmaps and the result
 * JSON. Every output key is derived from the analysis id, so a re-run after a crash overwrites the
 * same objects with the same content. The heatmaps are written concurrently, then the result JSON
 * that names them (with the time that took).
 */
export async function analyseStudy(request: AnalysisRequest, deps: AnalyseDeps): Promise<{ result: AnalysisResult; resultKey: string; inputs: InputKind[] }> {
  const { objects, derivedBucket, model } = deps;
  const t0 = performance.now();
  const { images, kinds, fetchMs, decodeMs } = await withSpan('analysis.fetch', { attributes: { 'cxr.images': request.images.length } }, () => readStudyImages(request, objects, derivedBucket));
  const t1 = performance.now();
  let analyses: ImageAnalysis[];
  try {
    analyses = await withSpan('analysis.inference', { attributes: { 'cxr.images': images.length } }, () => deps.analyse(images));
  } catch (error) {
    if (error instanceof ModelUnavailableError) throw error; // no fault of the input: retry
    // The model runs on inputs already read: a failure here is about this input
    // (batched failures are re-run per job first), so retrying it would fail the same way.
    throw new PermanentError(`the model refused the input: ${(error as Error).message}`, { cause: error });
  }
  const t2 = performance.now();

  const labels = new Map(model.manifest.labels.map((l) => [l.code, l]));
  const puts: (() => Promise<void>)[] = [];
  const imageResults: ImageResult[] = [];
  for (const [i, analysis] of analyses.entries()) {
    const input = request.images[i]!;
    const findings: ImageResult['findings'] = [];
    for (const finding of analysis.findings) {
      const heatmapKey = objectKeys.heatmap(request.studyKey, request.version, input.instanceKey, finding.code);
      const png = encodeHeatmapPng(finding.heatmap);
      puts.push(() => objects.put(derivedBucket, heatmapKey, png, 'image/png'));
      const label = labels.get(finding.code);
      findings.push({
        code: finding.code,
        display: finding.display,
        coding: label?.coding ?? null,
        probability: finding.probability,
        threshold: model.manifest.thresholds.values[finding.code] ?? 0.5,
        positive: finding.positive,
        heatmapKey,
        peak: finding.peak,
      });
    }
    imageResults.push({ instanceKey: input.instanceKey, imageKey: input.imageKey, width: input.width, height: input.height, findings, text: analysis.text });
  }
  await withSpan('analysis.store-heatmaps', { attributes: { 'cxr.objects': puts.length } }, () => runLimited(puts, PUT_CONCURRENCY));
  const t3 = performance.now();
  const sum = (k: 'preprocess' | 'vision' | 'decode') => analyses.reduce((s, a) => s + a.timingsMs[k], 0);
  const result: AnalysisResult = {
    schemaVersion: 1,
    analysisId: request.analysisId,
    studyKey: request.studyKey,
    version: request.version,
    model: { id: model.manifest.id, version: model.manifest.version, sha256: model.sha256, executionProvider: model.executionProvider },
    images: imageResults,
    timingsMs: {
      load: t1 - t0, fetch: fetchMs, decode: decodeMs,
      model: t2 - t1, preprocess: sum('preprocess'), vision: sum('vision'), textDecode: sum('decode'),
      store: t3 - t2, // heatmap encodes and PUTs (the result PUT that follows is not counted)
    },
    completedAt: new Date().toISOString(),
  };
  const resultKey = objectKeys.analysisResult(request.studyKey, request.version);
  await withSpan('analysis.store-result', {}, () => objects.putJson(derivedBucket, resultKey, result));
  return { result, resultKey, inputs: kinds };
}
