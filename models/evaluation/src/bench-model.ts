// Per-image latency of `analyse` (preprocess + vision + greedy decode, as the worker runs it)
// against a bare `session.run` of the same vision graph on the same preprocessed batch, in the
// same process. For a package with a Hugging Face decoder it also measures the text alone, per
// report, in the same run: our generation loop (onnxruntime-node with the key/value cache),
// transformers.js `generate` on the same package and images, and the reference GRU decoder
// (`--text-baseline`, default reference-cxr) on the same images: wall time and process CPU time.
//   tsx models/evaluation/src/bench-model.ts [--model reference-cxr] [--batch 8] [--rounds 20] [--threads 1] [--text-baseline reference-cxr] [--out bench.json]
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { benchRecord } from '@cxr/devstack/bench-record';
import { cacheLayoutOf, decodeReports, generate, gruDecoderOf, generationSettingsOf, isManifestV2, loadModelPackage, manifestPreprocessing, modelManifestSchema, twoGraphCacheLayoutOf, type ModelPackage, type PresentationImage } from '@cxr/inference';
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
      'text-baseline': { type: 'string', default: 'reference-cxr' },
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
  const text = isManifestV2(m) && m.text.decoder === 'hf-encoder-decoder' ? await textCosts(dir, pkg, images, rounds, threads, values['text-baseline']!) : undefined;
  const result = { msPerImage: per(analyseMs), bareMsPerImage: per(bareMs), ratio: analyseMs / bareMs, ...(text ? { text } : {}) };
  console.log(`model ${m.id} ${m.version}, batch ${batch}, ${rounds} rounds, ${threads} thread(s), input images ${images[0]!.width}x${images[0]!.height}`);
  console.log('| stage | ms/image |');
  console.log('|---|---|');
  console.log(`| analyse (total) | ${result.msPerImage.toFixed(2)} |`);
  console.log(`|   preprocess | ${per(parts.preprocess).toFixed(2)} |`);
  console.log(`|   vision | ${per(parts.vision).toFixed(2)} |`);
  console.log(`|   decode | ${per(parts.decode).toFixed(2)} |`);
  console.log(`| bare vision session.run | ${result.bareMsPerImage.toFixed(2)} |`);
  console.log(`| ratio analyse / bare | ${result.ratio.toFixed(2)} |`);
  if (text) {
    console.log('\n| report text, per report | wall ms | CPU ms | CPU vs ours |');
    console.log('|---|---|---|---|');
    for (const [name, c] of Object.entries(text.costs)) console.log(`| ${name} | ${c.wallMs.toFixed(2)} | ${c.cpuMs.toFixed(2)} | ${(c.cpuMs / text.costs.ours.cpuMs).toFixed(2)}× |`);
    console.log(`tokens per report (ours): ${text.tokensPerReport.toFixed(1)}; transformers.js gives the same tokens: ${String(text.sameTokensAsTransformersJs)}`);
  }
  if (values.out) {
    const settings = { model: `${m.id}@${m.version}`, batch, rounds, threads, imageWidth: images[0]!.width, imageHeight: images[0]!.height };
    await writeFile(values.out, `${JSON.stringify(benchRecord('model', settings, result), null, 2)}\n`);
  }
  await bare.release();
  await pkg.close();
}

interface Cost {
  wallMs: number;
  cpuMs: number;
}

/**
 * Wall and process CPU time per report of each function (each makes `reports` reports), measured
 * interleaved, one call of each per round after one warm-up call each, so that drifting load and
 * the process's own history (allocation, caches) fall on all of them alike rather than on whichever runs first.
 */
async function measureInterleaved(rounds: number, reports: number, fns: Record<string, () => Promise<unknown>>): Promise<Record<string, Cost>> {
  const totals = Object.fromEntries(Object.keys(fns).map((k) => [k, { wall: 0, cpu: 0 }]));
  for (const fn of Object.values(fns)) await fn();
  for (let r = 0; r < rounds; r++) {
    for (const [name, fn] of Object.entries(fns)) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      await fn();
      totals[name]!.wall += performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      totals[name]!.cpu += (cpu.user + cpu.system) / 1000;
    }
  }
  return Object.fromEntries(Object.entries(totals).map(([k, t]) => [k, { wallMs: t.wall / (rounds * reports), cpuMs: t.cpu / (rounds * reports) }]));
}

/** The text alone, per report: ours, transformers.js on the same package, and the GRU baseline's decode. */
async function textCosts(dir: string, pkg: ModelPackage, images: PresentationImage[], rounds: number, threads: number, baseline: string) {
  const m = pkg.manifest;
  if (!isManifestV2(m) || m.text.decoder !== 'hf-encoder-decoder') throw new Error('not a Hugging Face text package');
  const spec = m.text;
  const opts = { executionProviders: ['cpu'], intraOpNumThreads: threads };
  const encoder = await ort.InferenceSession.create(join(dir, spec.encoderFile), opts);
  const decoder = await ort.InferenceSession.create(join(dir, spec.decoderFile), opts);
  const withPast = spec.decoderWithPastFile ? await ort.InferenceSession.create(join(dir, spec.decoderWithPastFile), opts) : null;
  const prep = manifestPreprocessing(m);
  const per = prep.channels * prep.size * prep.size;
  const batch = new Float32Array(images.length * per);
  await Promise.all(images.map((im, n) => prep.into(im, batch.subarray(n * per, (n + 1) * per))));
  const pixels = new ort.Tensor('float32', batch, [images.length, prep.channels, prep.size, prep.size]);
  const states = (await encoder.run({ [encoder.inputNames[0]!]: pixels }))[spec.encoderOutput] as ort.Tensor;
  const settings = generationSettingsOf(JSON.parse(await readFile(join(dir, spec.generationConfig), 'utf8')), spec.generationConfig);
  const layout = withPast ? twoGraphCacheLayoutOf(decoder, withPast, { first: spec.decoderFile, withPast: spec.decoderWithPastFile! }) : cacheLayoutOf(decoder, spec.decoderFile);
  const decoders = withPast ? { first: decoder, withPast } : decoder;
  // transformers.js: its own sessions on the same files (the encoder included: generate() runs it).
  const { env, VisionEncoderDecoderModel, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = dirname(resolve(dir));
  const tjs = await VisionEncoderDecoderModel.from_pretrained(basename(resolve(dir)), { subfolder: '', dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: threads } });
  let ids: number[][] = [];
  let theirs: number[][] = [];
  const input = new Tensor('float32', batch, [images.length, prep.channels, prep.size, prep.size]);
  const costs = await measureInterleaved(rounds, images.length, {
    ours: async () => {
      ids = (await generate(decoders, layout, states, settings)).ids;
    },
    transformersJs: async () => {
      const out = (await tjs.generate({ inputs: input })) as { tolist(): bigint[][] };
      theirs = out.tolist().map((row) => {
        const r = row.slice(1).map(Number);
        const stop = r.findIndex((t) => settings.stopTokens.includes(t));
        return stop < 0 ? r : r.slice(0, stop);
      });
    },
    encoderOnly: () => encoder.run({ [encoder.inputNames[0]!]: pixels }),
  });
  const { ours, transformersJs, encoderOnly } = costs as Record<'ours' | 'transformersJs' | 'encoderOnly', Cost>;
  await tjs.dispose();
  await Promise.all([encoder.release(), decoder.release(), ...(withPast ? [withPast.release()] : [])]);
  // The GRU baseline: its decoder alone on the conditioning of the same images.
  const baseDir = modelDirOf(baseline);
  const baseManifest = modelManifestSchema.parse(JSON.parse(await readFile(join(baseDir, 'manifest.json'), 'utf8')));
  const gruSpec = gruDecoderOf(baseManifest);
  if (!gruSpec) throw new Error(`--text-baseline ${baseline} has no GRU decoder`);
  const baseVision = await ort.InferenceSession.create(join(baseDir, baseManifest.input.file), opts);
  const gruSession = await ort.InferenceSession.create(join(baseDir, gruSpec.file), opts);
  const basePrep = manifestPreprocessing(baseManifest);
  const basePer = basePrep.channels * basePrep.size * basePrep.size;
  const baseBatch = new Float32Array(images.length * basePer);
  await Promise.all(images.map((im, n) => basePrep.into(im, baseBatch.subarray(n * basePer, (n + 1) * basePer))));
  const conditioning = (await baseVision.run({ [baseManifest.input.name]: new ort.Tensor('float32', baseBatch, [images.length, basePrep.channels, basePrep.size, basePrep.size]) }))[gruSpec.conditioning] as ort.Tensor;
  const { gru: gruCost } = (await measureInterleaved(rounds, images.length, { gru: () => decodeReports(gruSession, gruSpec, conditioning, images.length) })) as { gru: Cost };
  await Promise.all([baseVision.release(), gruSession.release()]);
  return {
    costs: {
      ours,
      'transformers.js (generate, encoder included)': transformersJs,
      'transformers.js less the encoder run': { wallMs: transformersJs.wallMs - encoderOnly.wallMs, cpuMs: transformersJs.cpuMs - encoderOnly.cpuMs },
      [`${baseline} GRU decoder`]: gruCost,
    },
    tokensPerReport: ids.reduce((a, r) => a + r.length, 0) / ids.length,
    sameTokensAsTransformersJs: JSON.stringify(ids) === JSON.stringify(theirs),
    settings: { numBeams: settings.numBeams, maxNewTokens: settings.maxNewTokens },
  };
}

await main();
