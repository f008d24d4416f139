// The shipped reference-cxr-vlm package: the reference CNN with the text encoder appended and a
// GPT-2 report decoder (format 2, `text.decoder: "hf-encoder-decoder"`), loaded and run as the
// worker runs it.
import { afterAll, beforeAll, expect, test } from 'vitest';
import { isManifestV2, loadModelPackage, loadModelPackageInThread, type ModelPackage, type ThreadedModelPackage } from '@cxr/inference';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { referenceVlmModelDir } from './index.ts';

const images = [3, 5, 8, 13, 21, 34].map((seed) => {
  const p = generatePhantom({ seed: 4_300_000 + seed, size: 256 + (seed % 3) * 64, aspect: 1 + (seed % 4) * 0.08 });
  return { width: p.width, height: p.height, data: toUint16(p) };
});

let vlm: ModelPackage;
let reference: ModelPackage;
let threaded: ThreadedModelPackage;
beforeAll(async () => {
  [vlm, reference, threaded] = await Promise.all([loadModelPackage(referenceVlmModelDir), loadModelPackage(referenceModelDir), loadModelPackageInThread(referenceVlmModelDir)]);
}, 60_000);
afterAll(async () => {
  await Promise.all([vlm?.close(), reference?.close(), threaded?.close()]);
});

test('it is a format 2 package with Hugging Face text, its own out-of-distribution detector and the synthetic-data warning', () => {
  const m = vlm.manifest;
  expect(isManifestV2(m) && m.text.decoder).toBe('hf-encoder-decoder');
  expect(vlm.hasOodDetector).toBe(true);
  expect(m.intendedUse).toMatch(/synthetic phantoms.*NOT for clinical use/s);
});

test('its classifier is the reference CNN unchanged: the same scope, probabilities and heatmaps as reference-cxr', async () => {
  const [a, b] = await Promise.all([vlm.analyse(images), reference.analyse(images)]);
  for (const [n, r] of a.entries()) {
    expect(r.scope.inScope).toBe(b[n]!.scope.inScope);
    r.findings.forEach((f, k) => {
      expect(f.probability).toBeCloseTo(b[n]!.findings[k]!.probability, 5);
      expect(f.positive).toBe(b[n]!.findings[k]!.positive);
      expect(f.peak).toEqual(b[n]!.findings[k]!.peak);
    });
  }
});

test('each read image gets complete findings and impression text, split at the impression marker', async () => {
  const results = await vlm.analyse(images);
  const read = results.filter((r) => r.scope.inScope);
  expect(read.length).toBeGreaterThan(3);
  for (const r of read) {
    expect(r.text.complete).toBe(true);
    expect(r.text.findings).toMatch(/\.$/);
    expect(r.text.impression).toMatch(/\.$/);
    expect(`${r.text.findings} ${r.text.impression}`).not.toContain('IMPRESSION:');
    // The report style it was trained on states every finding, present or absent.
    for (const term of [/effusion/i, /pneumothorax/i, /heart|cardiomegaly/i, /nodule|mass|lesion/i]) expect(r.text.findings).toMatch(term);
  }
});

test('run in a worker thread it gives the same text as in process', async () => {
  const [a, b] = await Promise.all([vlm.analyse(images), threaded.analyse(images)]);
  expect(b.map((r) => r.text)).toEqual(a.map((r) => r.text));
});
