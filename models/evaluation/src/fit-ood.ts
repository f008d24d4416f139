// npm run model:fit-ood -- --model models/reference-cxr [--train-seed 1000000 --train-count 2500
//   --holdout-seed 2000000 --holdout-count 1500 --rate 0.005 --output conditioning --start 175 --length 64]
//   [--check <folder of DICOM files that must be flagged> ...]
//
// Fits the package's out-of-distribution detector (Mahalanobis distance on a slice of a vision-graph
// output) on images of the training distribution, chooses the threshold on held-out images of the
// same distribution for the stated false-flag rate, writes `ood.json` into the package and the
// `ood` section (and the file's sha256) into its manifest. For the reference model the training
// distribution is the phantom generator's (the seeds it was trained and validated on). `--check`
// folders are only reported (how many of their images are flagged): they never move the threshold.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fitOodStatistics, oodSpecSchema, thresholdForFalseFlagRate, createOodDetector, type OodSpec } from '@cxr/inference';
import { readDicomImages } from './dicom-images.ts';
import { asPresentation, phantomFor } from './evaluate.ts';
import { modelDirOf } from './model-dir.ts';
import { openVisionFeatures } from './vision-features.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'reference-cxr' },
    'train-seed': { type: 'string', default: '1000000' },
    'train-count': { type: 'string', default: '2500' },
    'holdout-seed': { type: 'string', default: '2000000' },
    'holdout-count': { type: 'string', default: '1500' },
    size: { type: 'string', default: '256' },
    rate: { type: 'string', default: '0.005' },
    shrinkage: { type: 'string', default: '0.01' },
    output: { type: 'string', default: 'conditioning' },
    start: { type: 'string', default: '175' },
    length: { type: 'string', default: '64' },
    check: { type: 'string', multiple: true, default: [] },
    // A model trained on real images: folders of its training and validation DICOM images instead of phantoms.
    'train-dir': { type: 'string' },
    'holdout-dir': { type: 'string' },
  },
});

for (const [flag, folders] of [['--check', values.check], ['--train-dir', values['train-dir'] ? [values['train-dir']] : []], ['--holdout-dir', values['holdout-dir'] ? [values['holdout-dir']] : []]] as const) {
  for (const folder of folders) {
    if (!existsSync(folder)) {
      console.error(`${flag} ${folder}: no such folder`);
      process.exit(2);
    }
  }
}
const dir = modelDirOf(values.model);
const rate = Number(values.rate);
if (!(rate > 0 && rate <= 0.01)) throw new Error('--rate: the false-flag rate must be in (0, 0.01]');
const features = await openVisionFeatures(dir);
const slice = { start: Number(values.start), length: Number(values.length) };
const sliced = (rows: Float32Array[]): Float32Array[] => rows.map((r) => r.subarray(slice.start, slice.start + slice.length));
const phantoms = (seed: number, count: number) => Array.from({ length: count }, (_, i) => asPresentation(phantomFor(seed + i, Number(values.size))));
const folder = async (dir: string) => (await readDicomImages(dir, { inputSize: features.manifest.input.size })).images.map((i) => i.image);
const trainImages = values['train-dir'] ? await folder(values['train-dir']) : phantoms(Number(values['train-seed']), Number(values['train-count']));
const heldOutImages = values['holdout-dir'] ? await folder(values['holdout-dir']) : phantoms(Number(values['holdout-seed']), Number(values['holdout-count']));

const t0 = performance.now();
const train = sliced(await features.rows(trainImages, values.output));
const stats = fitOodStatistics(train, Number(values.shrinkage));
const statsBytes = Buffer.from(JSON.stringify(stats));
// Score the held-out set with the same code the worker runs.
const provisional: OodSpec = {
  method: 'mahalanobis', file: 'ood.json', output: values.output, features: slice, threshold: 1,
  falseFlagRate: { target: rate, heldOut: 0, heldOutCount: 1 }, fit: {},
};
const detector = createOodDetector(provisional, statsBytes);
const heldOutRows = await features.rows(heldOutImages, values.output);
const heldOut = heldOutRows.map((r) => detector.score(r));
const threshold = thresholdForFalseFlagRate(heldOut, rate);
const heldOutRate = heldOut.filter((s) => s > threshold).length / heldOut.length;

const checks: Record<string, { images: number; flagged: number; minScore: number }> = {};
for (const folder of values.check) {
  const { images } = await readDicomImages(folder, { inputSize: features.manifest.input.size, maxFrames: 3 });
  const scores = (await features.rows(images.map((i) => i.image), values.output)).map((r) => detector.score(r));
  checks[folder] = { images: scores.length, flagged: scores.filter((s) => s > threshold).length, minScore: Math.min(...scores) };
}
await features.close();

const spec: OodSpec = oodSpecSchema.parse({
  method: 'mahalanobis',
  file: 'ood.json',
  output: values.output,
  features: slice,
  threshold: Number(threshold.toFixed(4)),
  falseFlagRate: { target: rate, heldOut: heldOutRate, heldOutCount: heldOut.length },
  fit: {
    // The command as it was run (the defaults it relied on are recorded below).
    command: ['npm run model:fit-ood --', ...process.argv.slice(2)].join(' '),
    training: values['train-dir'] ? `DICOM images in ${values['train-dir']}` : `phantoms, seeds ${values['train-seed']}..${Number(values['train-seed']) + Number(values['train-count']) - 1}, ${values.size} px wide (the model's training distribution)`,
    heldOut: values['holdout-dir'] ? `DICOM images in ${values['holdout-dir']}` : `phantoms, seeds ${values['holdout-seed']}..${Number(values['holdout-seed']) + Number(values['holdout-count']) - 1} (the validation split)`,
    shrinkage: Number(values.shrinkage),
    rate,
  },
  description: `Mahalanobis distance of the ${slice.length} global image features (${values.output}[${slice.start}..${slice.start + slice.length - 1}]) from the training mean, under the shrunk training covariance; above the threshold the image is out of distribution.`,
});
const manifestPath = join(dir, 'manifest.json');
const manifest = JSON.parse(await readFile(manifestPath, 'utf8')) as Record<string, unknown> & { files: Record<string, unknown> };
await writeFile(join(dir, 'ood.json'), statsBytes);
manifest.files['ood.json'] = { sha256: createHash('sha256').update(statsBytes).digest('hex'), bytes: statsBytes.length };
manifest.ood = spec;
await writeFile(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);

console.log(JSON.stringify({ threshold: spec.threshold, heldOutFalseFlagRate: heldOutRate, heldOutCount: heldOut.length, trainingCount: train.length, checks, seconds: Math.round((performance.now() - t0) / 1000) }, null, 2));
