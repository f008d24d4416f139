import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import { analysisIdOf, objectKeys, type AnalysisCompletedEvent, type AnalysisFailedEvent, type AnalysisResult, type StudyReceivedEvent } from '@cxr/contracts';

/** Test data: schema-valid events and results, and grey PNGs made with sharp. */

export function randomKey(): string {
  return randomBytes(16).toString('hex');
}

/** An 8-bit grey PNG whose pixel (x, y) is `value(x, y)`. */
export async function greyPng(width: number, height: number, value: (x: number, y: number) => number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) pixels[y * width + x] = value(x, y);
  return sharp(pixels, { raw: { width, height, channels: 1 } }).png().toBuffer();
}

/** A heatmap that is hot (255) inside the given box (fractions of the extent) and cold elsewhere. */
export function hotBoxHeatmap(width: number, height: number, box: { x0: number; y0: number; x1: number; y1: number }): Promise<Buffer> {
  return greyPng(width, height, (x, y) => {
    const fx = (x + 0.5) / width;
    const fy = (y + 0.5) / height;
    return fx >= box.x0 && fx < box.x1 && fy >= box.y0 && fy < box.y1 ? 255 : 0;
  });
}

export interface FixtureImage {
  instanceKey: string;
  sopInstanceUid: string;
  width: number;
  height: number;
}

let uidCounter = 0;
/** A DICOM UID unique within the test run (under the DCMTK example root). */
export function testUid(): string {
  uidCounter += 1;
  return `1.2.826.0.1.3680043.8.498.${process.pid}.${Date.now()}.${uidCounter}`;
}

export function fixtureImage(width = 300, height = 400): FixtureImage {
  return { instanceKey: randomKey(), sopInstanceUid: testUid(), width, height };
}

export function studyReceivedEvent(studyKey: string, version: number, images: FixtureImage[], overrides: Partial<StudyReceivedEvent> = {}): StudyReceivedEvent {
  return {
    type: 'study-received',
    studyKey,
    version,
    studyInstanceUid: testUid(),
    priority: 'routine',
    instanceCount: images.length,
    eligible: true,
    ineligibleReasons: [],
    images: images.map((image) => ({
      instanceKey: image.instanceKey,
      sopInstanceUid: image.sopInstanceUid,
      previewKey: objectKeys.preview(studyKey, image.instanceKey),
      width: image.width,
      height: image.height,
    })),
    receivedAt: '2026-01-02T03:04:05.000Z',
    ...overrides,
  };
}

export const FIXTURE_FINDINGS = [
  { code: 'pleural-effusion', display: 'Pleural effusion', probability: 0.91, threshold: 0.5 },
  { code: 'pneumothorax', display: 'Pneumothorax', probability: 0.12, threshold: 0.4 },
] as const;

export function analysisResult(studyKey: string, version: number, images: FixtureImage[]): AnalysisResult {
  return {
    schemaVersion: 1,
    analysisId: analysisIdOf(studyKey, version),
    studyKey,
    version,
    model: { id: 'cxr-reference', version: '0.1.0', sha256: 'ab'.repeat(32), executionProvider: 'cpu' },
    images: images.map((image) => ({
      instanceKey: image.instanceKey,
      imageKey: objectKeys.presentationImage(studyKey, image.instanceKey),
      width: image.width,
      height: image.height,
      findings: FIXTURE_FINDINGS.map((f) => ({
        code: f.code,
        display: f.display,
        coding: f.code === 'pleural-effusion' ? { system: 'http://snomed.info/sct', code: '60046008', display: 'Pleural effusion' } : null,
        probability: f.probability,
        threshold: f.threshold,
        positive: f.probability >= f.threshold,
        heatmapKey: objectKeys.heatmap(studyKey, version, image.instanceKey, f.code),
        peak: { x: 0.25, y: 0.75 },
      })),
      text: { findings: 'Blunting of the right costophrenic angle.', impression: 'Right pleural effusion.' },
    })),
    timingsMs: { classify: 3, decode: 4 },
    completedAt: '2026-01-02T03:05:00.000Z',
  };
}

/** The heatmap every fixture finding has: hot in the lower right quarter's inner part. */
export function fixtureHeatmap(): Promise<Buffer> {
  return hotBoxHeatmap(24, 32, { x0: 0.5, y0: 0.5, x1: 0.75, y1: 0.75 });
}

/** `result` as the worker writes it now: each finding's heatmap inline (`heatmapPng`) instead of an object of its own. */
export async function withInlineHeatmaps(result: AnalysisResult): Promise<AnalysisResult> {
  const heatmapPng = (await fixtureHeatmap()).toString('base64');
  return {
    ...result,
    images: result.images.map((image) => ({ ...image, findings: image.findings.map(({ heatmapKey: _stored, ...finding }) => ({ ...finding, heatmapPng })) })),
  };
}

/** What ingest and the worker leave in the derived bucket: previews, heatmaps and the result JSON. */
export async function putAnalysisOutputs(
  objects: { put(bucket: string, key: string, body: Buffer, contentType: string): Promise<void>; putJson(bucket: string, key: string, value: unknown): Promise<void> },
  derivedBucket: string,
  result: AnalysisResult,
): Promise<{ resultKey: string }> {
  for (const image of result.images) {
    // Preview: long side 1024 at most, same aspect as the image; here 300x400 stays as it is.
    const preview = await greyPng(image.width, image.height, (x, y) => (60 + ((x + y) >> 2)) % 200);
    await objects.put(derivedBucket, objectKeys.preview(result.studyKey, image.instanceKey), preview, 'image/png');
    for (const finding of image.findings) {
      if (finding.heatmapKey) await objects.put(derivedBucket, finding.heatmapKey, await fixtureHeatmap(), 'image/png');
    }
  }
  const resultKey = objectKeys.analysisResult(result.studyKey, result.version);
  await objects.putJson(derivedBucket, resultKey, result);
  return { resultKey };
}

export function analysisCompletedEvent(result: AnalysisResult, resultKey: string): AnalysisCompletedEvent {
  return {
    type: 'analysis-completed',
    studyKey: result.studyKey,
    version: result.version,
    analysisId: result.analysisId,
    resultKey,
    completedAt: result.completedAt,
  };
}

export function analysisFailedEvent(studyKey: string, version: number, reason: string): AnalysisFailedEvent {
  return { type: 'analysis-failed', studyKey, version, analysisId: analysisIdOf(studyKey, version), reason, failedAt: '2026-01-02T03:05:00.000Z' };
}
