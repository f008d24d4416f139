import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePhantom, labelReport, toUint16, type Phantom } from '@cxr/phantom';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ModelPackageError, loadModelPackage, type ModelPackage, type PresentationImage } from '@cxr/inference';
import { referenceModelDir as REFERENCE_MODEL_DIR } from './index.ts';

const asImage = (p: Phantom): PresentationImage => ({ width: p.width, height: p.height, data: toUint16(p) });

async function tamperedCopy(tamper: (dir: string) => Promise<void>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'model-package-'));
  for (const name of ['manifest.json', 'vision.onnx', 'decoder.onnx', 'ood.json']) await cp(join(REFERENCE_MODEL_DIR, name), join(dir, name));
  await tamper(dir);
  return dir;
}

async function expectRefusal(tamper: (dir: string) => Promise<void>, message: RegExp): Promise<void> {
  const dir = await tamperedCopy(tamper);
  try {
    const err = await loadModelPackage(dir).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ModelPackageError);
    expect((err as Error).name).toBe('ModelPackageError');
    expect((err as Error).message).toMatch(message);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests tamper with arbitrary manifest fields
async function editManifest(dir: string, edit: (m: Record<string, any>) => void): Promise<void> {
  const path = join(dir, 'manifest.json');
  const m = JSON.parse(await readFile(path, 'utf8'));
  edit(m);
  await writeFile(path, JSON.stringify(m));
}

describe('loadModelPackage refuses a broken package', () => {
  test('refuses a file whose bytes do not match the manifest sha256, naming the file', async () => {
    await expectRefusal(async (dir) => {
      const path = join(dir, 'vision.onnx');
      const bytes = await readFile(path);
      bytes[bytes.length - 1] ^= 0xff;
      await writeFile(path, bytes);
    }, /^vision\.onnx: sha256 mismatch \(manifest [0-9a-f]{64}, file [0-9a-f]{64}\)$/);
  });

  test('refuses a package with a missing file', async () => {
    await expectRefusal((dir) => rm(join(dir, 'decoder.onnx')), /^decoder\.onnx: missing from the package/);
  });

  test('refuses a file whose size differs from the manifest', async () => {
    await expectRefusal(async (dir) => {
      const path = join(dir, 'decoder.onnx');
      await writeFile(path, Buffer.concat([await readFile(path), Buffer.from([0])]));
    }, /^decoder\.onnx: size mismatch \(manifest \d+ bytes, file \d+ bytes\)$/);
  });

  test('refuses a manifest whose output name the graph does not have', async () => {
    await expectRefusal(
      (dir) =>
        editManifest(dir, (m) => {
          m.outputs.find((o: { name: string }) => o.name === 'heatmaps').name = 'heat';
          m.outputs.push({ ...m.outputs[0], name: 'heatmaps', shape: ['N', 5, 32, 32] });
        }),
      /vision\.onnx: output 'heat' missing from the graph/,
    );
  });

  test('refuses a manifest whose shapes disagree with the graph', async () => {
    await expectRefusal(
      (dir) =>
        editManifest(dir, (m) => {
          m.outputs.find((o: { name: string }) => o.name === 'heatmaps').shape = ['N', 5, 16, 16];
        }),
      /vision\.onnx: output 'heatmaps' has shape \[N,5,32,32\], manifest says \[N,5,16,16\]/,
    );
  });

  test('refuses an invalid manifest, naming the field', async () => {
    await expectRefusal((dir) => editManifest(dir, (m) => (m.version = 'one')), /manifest\.json: invalid \(version: version must be semver\)/);
  });

  test('refuses a directory without a manifest', async () => {
    await expectRefusal((dir) => rm(join(dir, 'manifest.json')), /^manifest\.json: cannot read it/);
  });
});

describe('the reference model package', () => {
  let pkg: ModelPackage;
  beforeAll(async () => {
    pkg = await loadModelPackage(REFERENCE_MODEL_DIR, { executionProviders: ['cuda', 'cpu'], intraOpNumThreads: 1 });
  });
  afterAll(async () => {
    await pkg.close();
  });

  test('falls back to the CPU when CUDA is unavailable and says so', () => {
    expect(['cuda', 'cpu']).toContain(pkg.executionProvider);
    if (pkg.executionProvider === 'cpu') expect(pkg.fallback?.from).toBe('cuda');
    expect(pkg.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(pkg.manifest.id).toBe('reference-cxr');
  });

  test('finds an obvious right upper zone nodule, points at it and writes it in the report', async () => {
    const phantom = generatePhantom({ seed: 9001, size: 256, aspect: 1.2, findings: [{ code: 'nodule', side: 'right', zone: 'upper', tier: 'obvious', sizeMm: 22 }] });
    const [result] = await pkg.analyse([asImage(phantom)]);
    const nodule = result!.findings.find((f) => f.code === 'nodule')!;
    expect(nodule.positive).toBe(true);
    for (const f of result!.findings) if (f.code !== 'nodule') expect(f.positive, f.code).toBe(false);
    // The heatmap covers the image's extent only (aspect kept), and its peak lies in the nodule.
    expect(nodule.heatmap.width / nodule.heatmap.height).toBeCloseTo(phantom.width / phantom.height, 1);
    const mask = phantom.findings[0]!.mask;
    const px = Math.min(phantom.width - 1, Math.floor(nodule.peak.x * phantom.width));
    const py = Math.min(phantom.height - 1, Math.floor(nodule.peak.y * phantom.height));
    // Inside the mask, allowing one heatmap cell (1/32 of the image) of slack for the 32x32 grid.
    const cell = Math.ceil(phantom.height / 32);
    let hit = false;
    for (let dy = -cell; dy <= cell && !hit; dy++)
      for (let dx = -cell; dx <= cell && !hit; dx++) hit = mask[(py + dy) * phantom.width + px + dx] === 1;
    expect(hit).toBe(true);
    expect(nodule.peak.x).toBeLessThan(0.5); // patient right = image left
    expect(result!.text.findings).toMatch(/nodule in the right/);
    expect(labelReport(`${result!.text.findings} ${result!.text.impression}`).nodule).toBe(1);
  });

  test('writes normal wording for a normal study', async () => {
    const phantom = generatePhantom({ seed: 9002, size: 256, findings: [] });
    const [result] = await pkg.analyse([asImage(phantom)]);
    expect(result!.findings.every((f) => !f.positive)).toBe(true);
    expect(result!.text.impression).toBe('No acute cardiopulmonary abnormality.');
    expect(Object.values(labelReport(result!.text.findings)).every((v) => v === 0)).toBe(true);
  });

  test('analyses a batch and gives the same answers as one image at a time', async () => {
    const phantoms = [9003, 9004, 9005].map((seed) => generatePhantom({ seed, size: 256, aspect: 1.1 }));
    const batch = await pkg.analyse(phantoms.map(asImage));
    expect(batch).toHaveLength(3);
    const single = await pkg.analyse([asImage(phantoms[1]!)]);
    batch[1]!.findings.forEach((f, k) => expect(f.probability).toBeCloseTo(single[0]!.findings[k]!.probability, 4));
    expect(batch[1]!.text).toEqual(single[0]!.text);
    for (const r of batch) {
      expect(r.findings.map((f) => f.code)).toEqual(pkg.manifest.labels.map((l) => l.code));
      for (const f of r.findings) {
        expect(f.heatmap.data.length).toBe(f.heatmap.width * f.heatmap.height);
        expect(Math.min(...f.heatmap.data)).toBeGreaterThanOrEqual(0);
        expect(Math.max(...f.heatmap.data)).toBeLessThanOrEqual(1);
      }
      expect(r.timingsMs.vision).toBeGreaterThan(0);
    }
  });

  test('returns nothing for an empty batch', async () => {
    expect(await pkg.analyse([])).toEqual([]);
  });

  test('rejects image data that is not a Uint16Array', async () => {
    const bad = { width: 2, height: 2, data: new Uint8Array(4) as unknown as Uint16Array };
    await expect(pkg.analyse([bad])).rejects.toThrow(/Uint16Array/);
  });
});
