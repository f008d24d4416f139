// Format 2 describes the reference model's layout too (graph heatmaps, the GRU decoder): the
// same files under a v2 manifest give exactly the answers of the v1 package, and the v1 package
// itself loads as it always did.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { isManifestV2, loadModelPackage, modelManifestV2Schema, type ModelManifestV1, type ModelPackage } from '@cxr/inference';
import { referenceModelDir } from './index.ts';

/** The reference manifest rewritten in format 2 (same files, same meaning). */
function asFormatV2(v1: ModelManifestV1): unknown {
  const { schemaVersion: _, decoder, labels, input, ...rest } = v1;
  return {
    ...rest,
    formatVersion: 2,
    input: {
      ...input,
      resize: { method: 'letterbox', kernel: input.resize.kernel, padValue: input.resize.padValue },
      normalisation: { method: 'zscore-content', epsilon: input.normalisation.epsilon },
    },
    scores: { output: 'logits', kind: 'logits' },
    heatmaps: { method: 'graph', output: 'heatmaps' },
    labels: labels.map((l) => ({ name: l.code, ...l })),
    text: { decoder: 'gru', conditioning: 'conditioning', ...decoder },
  };
}

let dir: string;
let v1: ModelPackage;
let v2: ModelPackage;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'reference-v2-'));
  const manifest = JSON.parse(await readFile(join(referenceModelDir, 'manifest.json'), 'utf8')) as ModelManifestV1;
  for (const name of Object.keys(manifest.files)) await cp(join(referenceModelDir, name), join(dir, name));
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(modelManifestV2Schema.parse(asFormatV2(manifest))));
  [v1, v2] = await Promise.all([loadModelPackage(referenceModelDir), loadModelPackage(dir)]);
});
afterAll(async () => {
  await Promise.all([v1?.close(), v2?.close()]);
  await rm(dir, { recursive: true, force: true });
});

test('the reference package is still format 1, and the same files under a format 2 manifest load as format 2', () => {
  expect(isManifestV2(v1.manifest)).toBe(false);
  expect(isManifestV2(v2.manifest)).toBe(true);
  expect(v2.hasOodDetector).toBe(true);
});

test('a format 2 manifest of the reference layout gives exactly the findings, heatmaps, scope and text of format 1', async () => {
  const images = [11, 12, 13, 14].map((seed) => {
    const p = generatePhantom({ seed, size: 200 + seed * 8, aspect: 1 + (seed % 3) * 0.1 });
    return { width: p.width, height: p.height, data: toUint16(p) };
  });
  const [a, b] = await Promise.all([v1.analyse(images), v2.analyse(images)]);
  const strip = (r: Awaited<ReturnType<ModelPackage['analyse']>>) => r.map(({ timingsMs: _, ...rest }) => rest);
  expect(a.every((r) => r.scope.inScope && r.findings.length === 5 && r.text.findings.length > 0)).toBe(true);
  expect(strip(b)).toEqual(strip(a));
});
