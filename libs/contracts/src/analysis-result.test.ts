import { describe, expect, test } from 'vitest';
import { analysisResultSchema, findingHeatmapPng, type AnalysisResult } from './analysis-result.ts';
import { objectKeys } from './object-keys.ts';

const studyKey = 'a'.repeat(32);
const instanceKey = 'b'.repeat(32);
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);

function result(heatmap: Record<string, string>): AnalysisResult {
  return {
    schemaVersion: 1, analysisId: `${studyKey}.v1`, studyKey, version: 1,
    model: { id: 'reference-cxr', version: '0.2.0', sha256: 'c'.repeat(64), executionProvider: 'cpu' },
    images: [{
      instanceKey, imageKey: objectKeys.presentationImage(studyKey, instanceKey), width: 100, height: 120,
      findings: [{ code: 'nodule', display: 'Nodule', coding: null, probability: 0.7, threshold: 0.5, positive: true, peak: { x: 0.5, y: 0.5 }, ...heatmap }],
      text: { findings: 'A nodule.', impression: 'Nodule.' },
    }],
    timingsMs: {}, completedAt: '2026-01-01T00:00:00.000Z',
  } as AnalysisResult;
}

describe('analysis result heatmaps', () => {
  test('accepts an inline heatmap and gives back its PNG bytes', () => {
    const parsed = analysisResultSchema.parse(result({ heatmapPng: png.toString('base64') }));
    expect(findingHeatmapPng(parsed.images[0]!.findings[0]!)).toEqual(png);
  });

  test('still accepts a result written before heatmaps were inline (one object per finding)', () => {
    const heatmapKey = objectKeys.heatmap(studyKey, 1, instanceKey, 'nodule');
    const parsed = analysisResultSchema.parse(result({ heatmapKey }));
    expect(parsed.images[0]!.findings[0]!.heatmapKey).toBe(heatmapKey);
    expect(findingHeatmapPng(parsed.images[0]!.findings[0]!)).toBeNull();
  });

  test.each([
    ['neither', {}],
    ['both', { heatmapPng: png.toString('base64'), heatmapKey: 'results/x.png' }],
  ])('refuses a finding with %s of heatmapPng and heatmapKey', (_, heatmap) => {
    const parsed = analysisResultSchema.safeParse(result(heatmap));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(/exactly one of heatmapPng/);
  });

  test('refuses an inline heatmap that is not base64', () => {
    expect(analysisResultSchema.safeParse(result({ heatmapPng: 'not base64!' })).success).toBe(false);
  });
});
