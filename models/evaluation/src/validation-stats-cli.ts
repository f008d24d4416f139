// npm run model:validation-stats -- [--model reference-cxr|<dir>] [--seed 2000000 --count 2000] [--size 256] [--dataset <folder of DICOM files>]
//
// Runs the package over its validation set with the code the worker runs and writes the
// `validation` section (positive rates, mean probabilities, probability histograms) into its
// manifest. For the reference model the validation set is the phantom split its thresholds were
// chosen on (seeds 2000000..2001999). A model trained on real images passes `--dataset`.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findingCodesOf, loadModelPackage, type PresentationImage } from '@cxr/inference';
import { readDicomImages } from './dicom-images.ts';
import { asPresentation, phantomFor } from './evaluate.ts';
import { modelDirOf } from './model-dir.ts';
import { ValidationStats } from './validation-stats.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'reference-cxr' },
    seed: { type: 'string', default: '2000000' },
    count: { type: 'string', default: '2000' },
    size: { type: 'string', default: '256' },
    batch: { type: 'string', default: '16' },
    dataset: { type: 'string' },
  },
});
if (values.dataset && !existsSync(values.dataset)) {
  console.error(`--dataset ${values.dataset}: no such folder`);
  process.exit(2);
}
const seed = Number(values.seed);
const count = Number(values.count);
if (!Number.isInteger(seed) || !Number.isInteger(count) || count < 1) {
  console.error('--seed and --count must be integers (count at least 1)');
  process.exit(2);
}
const dir = modelDirOf(values.model);
const pkg = await loadModelPackage(dir, { executionProviders: ['cpu'] });
const stats = new ValidationStats(findingCodesOf(pkg.manifest));
const t0 = performance.now();
let images: PresentationImage[] | null = null;
let dataset: string;
if (values.dataset) {
  images = (await readDicomImages(values.dataset, { inputSize: pkg.manifest.input.size })).images.map((i) => i.image);
  dataset = `DICOM images in ${values.dataset}`;
} else {
  dataset = `phantoms, seeds ${seed}..${seed + count - 1}, ${values.size} px wide (the validation split)`;
}
const total = images?.length ?? count;
const batch = Number(values.batch);
for (let b = 0; b < total; b += batch) {
  const chunk = images
    ? images.slice(b, b + batch)
    : Array.from({ length: Math.min(batch, total - b) }, (_, i) => asPresentation(phantomFor(seed + b + i, Number(values.size))));
  for (const result of await pkg.analyse(chunk)) stats.add(result);
}
await pkg.close();
const validation = stats.summary(dataset, new Date().toISOString(), ['npm run model:validation-stats --', ...process.argv.slice(2)].join(' '));
const manifestPath = join(dir, 'manifest.json');
const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown>;
manifest.validation = validation;
await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
console.log(JSON.stringify({ count: validation.count, positiveRates: Object.fromEntries(Object.entries(validation.findings).map(([c, f]) => [c, f.positiveRate])), seconds: Math.round((performance.now() - t0) / 1000) }, null, 2));
