import {
  objectKeys,
  type AnalysisRequest, type AnalysisResult, type ImageResult,
} from '@cxr/contracts';
import type { ImageAnalysis, ModelPackage, PresentationImage } from '@cxr/inference';
import { PermanentError, type ObjectStore } from '@cxr/platform';
import { decodePresentationPng, encodeHeatmapPng } from './images.ts';

export interface AnalyseDeps {
  objects: ObjectStore;
  derivedBucket: string;
  model: ModelPackage;
  /** Runs the model; the worker passes its micro-batcher so concurrent jobs share a batch. */
  analyse: (images: PresentationImage[]) => Promise<ImageAnalysis[]>;
}

/**
 * One analysis: read the de-identified inputs, run the model on all of the study's images (in
 * one batch, shared with other jobs that arrive at the same time), store heatmaps and the result JSON. Every output key is derived from the analysis
 * id, so a re-run after a crash overwrites the same objects with the same content.
 */
export async function analyseStudy(request: AnalysisRequest, deps: AnalyseDeps): Promise<{ result: AnalysisResult; resultKey: string }> {
  const { objects, derivedBucket, model } = deps;
  const t0 = performance.now();
  const images = await Promise.all(
    request.images.map(async (image) => decodePresentationPng(await objects.get(derivedBucket, image.imageKey, 256 * 1024 * 1024), image)),
  );
  const t1 = performance.now();
  let analyses: ImageAnalysis[];
  try {
    analyses = await deps.analyse(images);
  } catch (error) {
    // The model runs in-process on inputs already read: a failure here is about this input
    // (batched failures are re-run per job first), so retrying it would fail the same way.
    throw new PermanentError(`the model refused the input: ${(error as Error).message}`, { cause: error });
  }
  const t2 = performance.now();

  const labels = new Map(model.manifest.labels.map((l) => [l.code, l]));
  const imageResults: ImageResult[] = [];
  for (const [i, analysis] of analyses.entries()) {
    const input = request.images[i]!;
    const findings: ImageResult['findings'] = [];
    for (const finding of analysis.findings) {
      const heatmapKey = objectKeys.heatmap(request.studyKey, request.version, input.instanceKey, finding.code);
      await objects.put(derivedBucket, heatmapKey, await encodeHeatmapPng(finding.heatmap), 'image/png');
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
  const t3 = performance.now();
  const sum = (k: 'preprocess' | 'vision' | 'decode') => analyses.reduce((s, a) => s + a.timingsMs[k], 0);
  const result: AnalysisResult = {
    schemaVersion: 1,
    analysisId: request.analysisId,
    studyKey: request.studyKey,
    version: request.version,
    model: { id: model.manifest.id, version: model.manifest.version, sha256: model.sha256, executionProvider: model.executionProvider },
    images: imageResults,
    timingsMs: { load: t1 - t0, model: t2 - t1, preprocess: sum('preprocess'), vision: sum('vision'), textDecode: sum('decode'), store: t3 - t2 },
    completedAt: new Date().toISOString(),
  };
  const resultKey = objectKeys.analysisResult(request.studyKey, request.version);
  await objects.putJson(derivedBucket, resultKey, result);
  return { result, resultKey };
}
