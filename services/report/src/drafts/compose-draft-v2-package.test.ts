// A format-2 package's findings through the draft: a label the model has that we have no code or
// wording for, and the templated structured-findings text of a package without a decoder. The
// package is a tiny graph with hand-set weights built at test time (no real model or weights).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { analysisResultSchema, objectKeys, type AnalysisResult } from '@cxr/contracts';
import { checkReportText } from '@cxr/drafting';
import { loadModelPackage, type ImageAnalysis, type ModelPackage } from '@cxr/inference';
import { writeTinyPackage } from '@cxr/inference/testing';
import { composeDraft } from './compose-draft.ts';
import { heatmapGeometry, type FindingGeometry } from './finding-geometry.ts';
import { randomKey } from '../testing/fixtures.test-support.ts';

let dir: string;
let pkg: ModelPackage;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'draft-v2-'));
  await writeTinyPackage(dir);
  pkg = await loadModelPackage(dir);
});
afterAll(async () => {
  await pkg?.close();
  await rm(dir, { recursive: true, force: true });
});

/** 48×32, black, with a bright block on the image's right (the patient's left), upper half. */
function blockImage() {
  const [w, h] = [48, 32];
  const data = new Uint16Array(w * h);
  for (let y = 0; y < 16; y++) for (let x = 24; x < 40; x++) data[y * w + x] = 65535;
  return { width: w, height: h, data };
}

/** The 8-bit PNG the worker stores for a heatmap (services/inference-worker images.ts). */
async function heatmapPng(heatmap: ImageAnalysis['findings'][number]['heatmap']): Promise<Buffer> {
  const pixels = Buffer.from(Array.from(heatmap.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)));
  return sharp(pixels, { raw: { width: heatmap.width, height: heatmap.height, channels: 1 } }).png().toBuffer();
}

/** The analysis result the worker writes for one image, with the geometry the report reads from its heatmap PNGs. */
async function resultOf(analysis: ImageAnalysis): Promise<{ result: AnalysisResult; geometry: Map<string, FindingGeometry> }> {
  const studyKey = randomKey();
  const instanceKey = randomKey();
  const labels = new Map(pkg.manifest.labels.map((l) => [l.code, l]));
  const geometry = new Map<string, FindingGeometry>();
  const findings = [];
  for (const f of analysis.findings) {
    const png = await heatmapPng(f.heatmap);
    geometry.set(`${instanceKey}/${f.code}`, await heatmapGeometry(png, f.peak, f.code));
    findings.push({
      code: f.code, display: f.display, coding: labels.get(f.code)!.coding, probability: f.probability,
      threshold: pkg.manifest.thresholds.values[f.code]!, positive: f.positive, heatmapPng: png.toString('base64'), peak: f.peak,
    });
  }
  const result = analysisResultSchema.parse({
    schemaVersion: 1, analysisId: `${studyKey}-1`, studyKey, version: 1,
    model: { id: pkg.manifest.id, version: pkg.manifest.version, sha256: pkg.sha256, executionProvider: 'cpu' },
    images: [{ instanceKey, imageKey: objectKeys.presentationImage(studyKey, instanceKey), width: 48, height: 32, findings, text: analysis.text, scope: analysis.scope }],
    timingsMs: { model: 1 },
    completedAt: '2026-01-02T03:05:00.000Z',
  });
  return { result, geometry };
}

describe('a format-2 package with a label of its own and templated text, through composeDraft', () => {
  test('keeps the templated sentences as they are: they state exactly the calls, so no consistency rule changes them', async () => {
    const [analysis] = await pkg.analyse([blockImage()]);
    const { result, geometry } = await resultOf(analysis!);
    const draft = composeDraft(result, { composedAt: '2026-01-02T03:06:00.000Z', geometryOf: (i, c) => geometry.get(`${i}/${c}`) });
    expect(draft.sections.findings).toBe('Left pleural effusion. Lung Opacity. No pneumothorax.');
    expect(draft.sections.impression).toBe('Left pleural effusion. Lung Opacity.');
    expect(draft.textEdits).toEqual([]);
    // The evaluation's counts of what the rules prevent: zero on the model's own text and on the draft.
    const images = result.images.map((i) => ({ instanceKey: i.instanceKey, width: i.width, height: i.height, text: i.text }));
    expect(checkReportText(analysis!.text, images, draft.findings, null)).toEqual({ contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0 });
    expect(checkReportText(draft.sections, images, draft.findings, null, { answers: true })).toEqual({ contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0 });
  });

  test('shows a label we have no code for under its own name, uncoded, with its call and place', async () => {
    const [analysis] = await pkg.analyse([blockImage()]);
    const { result, geometry } = await resultOf(analysis!);
    const draft = composeDraft(result, { composedAt: '2026-01-02T03:06:00.000Z', geometryOf: (i, c) => geometry.get(`${i}/${c}`) });
    const opacity = draft.findings.find((f) => f.code === 'lung_opacity')!;
    expect(opacity).toMatchObject({ display: 'Lung Opacity', coding: null, positive: true });
    expect(draft.findings.find((f) => f.code === 'pleural_effusion')).toMatchObject({ side: 'left', positive: true });
    expect(draft.text).toContain('Lung Opacity.');
  });

  test('the drafting rules still drop a decoder sentence that contradicts the call on a label of the model\'s own', async () => {
    const [analysis] = await pkg.analyse([blockImage()]);
    const { result, geometry } = await resultOf({ ...analysis!, text: { findings: 'No lung opacity. Left pleural effusion.', impression: 'Left pleural effusion.', complete: true } });
    const draft = composeDraft(result, { composedAt: '2026-01-02T03:06:00.000Z', geometryOf: (i, c) => geometry.get(`${i}/${c}`) });
    expect((draft.textEdits ?? []).map((e) => e.rule)).toEqual(['negates-positive', 'missing-positive', 'missing-positive']);
    expect(draft.sections.findings).not.toMatch(/No lung opacity/);
    expect(draft.sections.findings).toMatch(/Lung Opacity \((?:high|moderate|low) confidence\)\./);
  });
});
