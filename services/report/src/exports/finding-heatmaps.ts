/**
 * Reading a report's finding heatmaps (the model's 8-bit grey PNGs) for the AI-result objects and
 * the heatmap route: inline in the analysis result JSON (analyses written since heatmaps were
 * inlined) or an object of their own (older analyses). Storage errors name keys (which hold the
 * study key), so the errors raised here do not pass their messages on.
 */
import { analysisResultSchema, findingHeatmapPng, type ReportResponse } from '@cxr/contracts';
import { HttpError, ObjectNotFoundError, TransientError, type ObjectStore } from '@cxr/platform';
import type { StoredImage } from '../review/report-service.ts';
import { decodeHeatmap, type ImageHeatmaps } from './ai-results.ts';
import type { SourceStudy } from './source-study.ts';

/** Where a finding's heatmap is (the report service's `findingImage` with kind `heatmap`). */
export type LocateHeatmap = (studyInstanceUid: string, code: string, sopInstanceUid: string) => Promise<StoredImage>;

/** The two reads heatmaps need from the object store. */
export type HeatmapObjects = Pick<ObjectStore, 'get' | 'getJson'>;

/** A finding's heatmap PNG; HttpError 404 `heatmap-not-found` when it is gone, TransientError when storage fails. */
export async function readHeatmapPng(objects: HeatmapObjects, image: StoredImage): Promise<Buffer> {
  if (image.inResult) {
    let raw: unknown;
    try {
      raw = await objects.getJson(image.bucket, image.key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) throw new HttpError(404, 'heatmap-not-found', 'the heatmap image is missing');
      throw new TransientError(`reading an analysis result failed (${error instanceof Error ? error.name : 'error'})`);
    }
    const which = image.inResult;
    const parsed = analysisResultSchema.safeParse(raw);
    const finding = parsed.success
      ? parsed.data.images.find((i) => i.instanceKey === which.instanceKey)?.findings.find((f) => f.code === which.code)
      : undefined;
    const png = finding ? findingHeatmapPng(finding) : null;
    if (!png) throw new HttpError(404, 'heatmap-not-found', 'the heatmap image is missing');
    return png;
  }
  try {
    return await objects.get(image.bucket, image.key);
  } catch (error) {
    if (error instanceof ObjectNotFoundError) throw new HttpError(404, 'heatmap-not-found', 'the heatmap image is missing');
    throw new TransientError(`reading a heatmap failed (${error instanceof Error ? error.name : 'error'})`);
  }
}

/**
 * The heatmaps of the report's findings, grouped by source image (study order), for the PMAP and
 * SEG builders. Findings on an image that is not among the originals are left out (as in the SR).
 * An analysis result read once serves every finding it holds.
 */
export async function readImageHeatmaps(objects: HeatmapObjects, locate: LocateHeatmap, report: ReportResponse, source: SourceStudy): Promise<ImageHeatmaps[]> {
  const results = new Map<string, Promise<unknown>>();
  const cachedObjects: HeatmapObjects = {
    get: (bucket, key) => objects.get(bucket, key),
    getJson: (bucket, key) => {
      const id = `${bucket}/${key}`;
      let pending = results.get(id);
      if (!pending) {
        pending = objects.getJson(bucket, key);
        results.set(id, pending);
      }
      return pending;
    },
  };
  const images: ImageHeatmaps[] = [];
  for (const instance of source.instances) {
    const findings = report.findings.filter((f) => f.sopInstanceUid === instance.sopInstanceUid);
    if (findings.length === 0) continue;
    const entry: ImageHeatmaps = { instance, findings: [] };
    for (const finding of findings) {
      const png = await readHeatmapPng(cachedObjects, await locate(report.studyInstanceUid, finding.code, finding.sopInstanceUid));
      entry.findings.push({ finding, heatmap: await decodeHeatmap(png) });
    }
    images.push(entry);
  }
  return images;
}
