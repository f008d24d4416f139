import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type ModelPackage, ModelPackageError, ModelUnavailableError, type ThreadedModelPackage, loadModelPackage, loadModelPackageInThread } from '@cxr/inference';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { referenceModelDir as REFERENCE_MODEL_DIR } from './index.ts';

function image(seed: number) {
  const phantom = generatePhantom({ seed, size: 256, aspect: 1.2, findings: [{ code: 'pleural_effusion', side: 'left', tier: 'obvious' }] });
  return { width: phantom.width, height: phantom.height, data: toUint16(phantom) };
}

let inProcess: ModelPackage;
let threaded: ThreadedModelPackage;

beforeAll(async () => {
  [inProcess, threaded] = await Promise.all([
    loadModelPackage(REFERENCE_MODEL_DIR),
    loadModelPackageInThread(REFERENCE_MODEL_DIR),
  ]);
}, 60_000);
afterAll(async () => {
  await inProcess?.close();
  await threaded?.close();
});

describe('model package in a worker thread', () => {
  test('gives the same findings, heatmaps and text as the package run in-process', async () => {
    const images = [image(1), image(2)];
    const [expected, actual] = [await inProcess.analyse(images), await threaded.analyse(images)];
    expect(threaded.manifest.id).toBe(inProcess.manifest.id);
    expect(threaded.sha256).toBe(inProcess.sha256);
    expect(actual.map((a) => a.text)).toEqual(expected.map((e) => e.text));
    for (const [n, analysis] of actual.entries()) {
      for (const [k, finding] of analysis.findings.entries()) {
        const want = expected[n]!.findings[k]!;
        expect(finding.probability).toBeCloseTo(want.probability, 5);
        expect(finding.peak).toEqual(want.peak);
        expect([...finding.heatmap.data]).toEqual([...want.heatmap.data]);
      }
    }
  });

  test('leaves the images it was given usable, so a failed batch can be re-run', async () => {
    const images = [image(3)];
    await threaded.analyse(images);
    expect(images[0]!.data.length).toBe(images[0]!.width * images[0]!.height);
    expect(await threaded.analyse(images)).toHaveLength(1);
  });

  test('rejects an invalid image with the reason, and keeps working', async () => {
    await expect(threaded.analyse([{ width: 10, height: 10, data: new Uint16Array(5) }])).rejects.toThrow(/expected 10x10/);
    expect(await threaded.analyse([image(4)])).toHaveLength(1);
  });

  test('refuses an altered package with the same error as in-process loading', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'model-thread-'));
    try {
      for (const name of ['manifest.json', 'decoder.onnx']) copyFileSync(join(REFERENCE_MODEL_DIR, name), join(dir, name));
      const vision = readFileSync(join(REFERENCE_MODEL_DIR, 'vision.onnx'));
      vision[vision.length - 1] ^= 0xff;
      writeFileSync(join(dir, 'vision.onnx'), vision);
      const loading = loadModelPackageInThread(dir);
      await expect(loading).rejects.toThrow(ModelPackageError);
      await expect(loading).rejects.toThrow(/vision.onnx: sha256 mismatch/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('after close, analyse fails as unavailable (retry elsewhere), not as a bad input', async () => {
    const pkg = await loadModelPackageInThread(REFERENCE_MODEL_DIR);
    await pkg.close();
    await expect(pkg.exited).resolves.toBeUndefined();
    await expect(pkg.analyse([image(5)])).rejects.toThrow(ModelUnavailableError);
  });
});
