// Per-image latency of `analyse` (preprocess + vision + greedy decode, as the worker runs it)
// against a bare `session.run` of the same vision graph on the same preprocessed batch, in the
// same process.
//   tsx models/evaluation/src/bench-model.ts [--model reference-cxr] [--batch 8] [--rounds 20] [--threads 1] [--out bench.json]
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchRecord } from '@cxr/devstack/bench-record';
import { loadModelPackage, manifestPreprocessing } from '@cxr/inference';
import * as ort from 'onnxruntime-node';
import { modelDirOf } from './model-dir.ts';
import { asPresentation, phantomFor } from './evaluate.ts';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'reference-cxr' },
      batch: { type: 'string', default: '8' },
      rounds: { type: 'string', default: '20' },
      threads: { type: 'string', default: '1' },
      size: { type: 'string', default: '512' },
      out: { type: 'string' },
    },
  });
  const dir = modelDirOf(values.model);
  const batch = Number(values.batch);
  const rounds = Number(values.rounds);
  const threads = Number(values.threads);
  const pkg = await loadModelPackage(dir, { executionProviders: ['cpu'], intraOpNumThreads: threads });
  const m = pkg.manifest;
  const bare = await ort.InferenceSession.create(join(dir, m.input.file), { executionProviders: ['cpu'], intraOpNumThreads: threads });
  const images = Array.from({ length: batch }, (_, i) => asPresentation(phantomFor(7_000_000 + i, Number(values.size))));
  const preprocessing = manifestPreprocessing(m);
  const { size: S, channels } = preprocessing;
  const perImage = channels * S * S;
  const tensor = new Float32Array(batch * perImage);
  await Promise.all(images.map((im, n) => preprocessing.into(im, tensor.subarray(n * perImage, (n + 1) * perImage))));
  const feeds = { [m.input.name]: new ort.Tensor('float32', tensor, [batch, channels, S, S]) };
  // Warm up both.
  await pkg.analyse(images);
  await bare.run(feeds);
  const parts = { preprocess: 0, vision: 0, decode: 0 };
  let analyseMs = 0;
  let bareMs = 0;
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    const res = await pkg.analyse(images);
    analyseMs += performance.now() - t;
    for (const k of Object.keys(parts) as (keyof typeof parts)[]) parts[k] += res[0]!.timingsMs[k] * batch;
    t = performance.now();
    await bare.run(feeds);
    bareMs += performance.now() - t;
  }
  const per = (ms: number): number => ms / (rounds * batch);
  const result = { msPerImage: per(analyseMs), bareMsPerImage: per(bareMs), ratio: analyseMs / bareMs };
  console.log(`model ${m.id} ${m.version}, batch ${batch}, ${rounds} rounds, ${threads} thread(s), input images ${images[0]!.width}x${images[0]!.height}`);
  console.log('| stage | ms/image |');
  console.log('|---|---|');
  console.log(`| analyse (total) | ${result.msPerImage.toFixed(2)} |`);
  console.log(`|   preprocess | ${per(parts.preprocess).toFixed(2)} |`);
  console.log(`|   vision | ${per(parts.vision).toFixed(2)} |`);
  console.log(`|   decode | ${per(parts.decode).toFixed(2)} |`);
  console.log(`| bare vision session.run | ${result.bareMsPerImage.toFixed(2)} |`);
  console.log(`| ratio analyse / bare | ${result.ratio.toFixed(2)} |`);
  if (values.out) {
    const settings = { model: `${m.id}@${m.version}`, batch, rounds, threads, imageWidth: images[0]!.width, imageHeight: images[0]!.height };
    await writeFile(values.out, `${JSON.stringify(benchRecord('model', settings, result), null, 2)}\n`);
  }
  await bare.release();
  await pkg.close();
}

await main();
