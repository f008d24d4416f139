// `npm run model:import -- --format hf-vision-encoder-decoder <folder> --classifier <package> --out <dir>`:
// a Hugging Face VisionEncoderDecoderModel (or --random-init) and a v2 classifier package → ONE v2
// model package: the classifier's files and sections (scores, heatmaps, labels, thresholds, OOD
// detector) with Optimum's two-graph text export, its encoder reading the classifier's input tensor.
// Checked: each graph against PyTorch (onnxruntime, Python), the encoder in onnxruntime-node, and
// the Node generation (greedy with the written settings, 3-beam search) against transformers'
// generate() token for token on 2 synthetic phantoms preprocessed the classifier's way; then the
// package is loaded with loadModelPackage and the phantoms analysed, whose text must be PyTorch's.
import { copyFile, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { generate, generationSettingsOf, loadModelPackage, manifestPreprocessing, splitAtMarker, twoGraphCacheLayoutOf, type PresentationImage } from '@cxr/inference';
import { generatePhantom, toUint16 } from '@cxr/phantom';
import { classifierManifestOf, combinedManifest, TEXT_FILES, type TextModelCard } from './encoder-decoder-manifest.ts';
import { ImportModelError, round, type ImportOptions } from './import-model.ts';
import { checkParity, type ParityResult } from './parity.ts';
import { PYTHON_DIR, run } from './python-env.ts';

export interface EncoderDecoderReport {
  out: string;
  randomInit: boolean;
  parity: {
    onnxruntimePython: Record<string, number>;
    onnxruntimeNode: ParityResult;
    teacherForcedTokens: number;
    greedyTokensEqual: boolean;
    /** Node generation (two-graph) against transformers' generate() per setting: ids equal for every phantom. */
    generate: { name: string; idsEqual: boolean; tokens: number[] }[];
  };
  encoderInput: TextModelCard['encoderInput'];
  timings: Record<string, number>;
  loaded: { id: string; version: string; labels: number; executionProvider: string };
  /** The phantoms analysed by the loaded package: in the classifier's scope, and whether the text is PyTorch's. */
  phantoms: { inScope: boolean; text: string; complete: boolean; textEqual: boolean | null }[];
}

interface PythonReport {
  parity: { onnxruntimePython: Record<string, number>; teacherForcedTokens: number; greedyTokensEqual: boolean };
  encoderInput: TextModelCard['encoderInput'];
  source: Record<string, unknown>;
  architecture: string;
  timings: Record<string, number>;
}

interface GenerateFixture {
  variants: { name: string; generationConfig: Record<string, unknown>; ids: number[][] }[];
  texts: string[];
}

/** The synthetic phantoms the parity runs on (different shapes and findings). */
export const PARITY_PHANTOMS = [
  { seed: 4242, size: 320, aspect: 1.15 },
  { seed: 4243, size: 288, aspect: 0.95 },
] as const;

export async function importEncoderDecoder(options: ImportOptions): Promise<EncoderDecoderReport> {
  const log = options.log ?? (() => {});
  if (!options.classifier)
    throw new ImportModelError('hf-vision-encoder-decoder needs --classifier <v2 package dir>: the classifier whose vision graph, labels, thresholds, heatmaps and out-of-distribution detector the package reuses (e.g. models/chexnet-phantom)');
  if (options.randomInit === Boolean(options.checkpoint)) throw new ImportModelError('give a model folder or --random-init, not both and not neither');
  if (options.checkpoint && !existsSync(join(options.checkpoint, 'config.json'))) throw new ImportModelError(`${options.checkpoint}: not a save_pretrained folder (no config.json)`);
  const classifierDir = resolve(options.classifier);
  let classifierBytes: Buffer;
  try {
    classifierBytes = await readFile(join(classifierDir, 'manifest.json'));
  } catch (err) {
    throw new ImportModelError(`--classifier ${classifierDir}: no manifest.json (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  const classifierJson = JSON.parse(classifierBytes.toString('utf8')) as Record<string, unknown>;
  const classifier = classifierManifestOf(classifierJson, classifierDir);

  const out = resolve(options.out);
  const parityDir = join(out, '.parity');
  await mkdir(parityDir, { recursive: true });
  // The parity inputs: phantoms preprocessed as the package will preprocess them (the classifier's input section).
  const prep = manifestPreprocessing(classifier);
  const per = prep.channels * prep.size * prep.size;
  const images: PresentationImage[] = PARITY_PHANTOMS.map((o) => {
    const p = generatePhantom(o);
    return { width: p.width, height: p.height, data: toUint16(p) };
  });
  const batch = new Float32Array(images.length * per);
  await Promise.all(images.map((im, n) => prep.into(im, batch.subarray(n * per, (n + 1) * per))));
  await writeFile(join(parityDir, 'phantoms.f32'), new Uint8Array(batch.buffer));
  await writeFile(join(parityDir, 'input-spec.json'), JSON.stringify(classifier.input));

  const args = [join(PYTHON_DIR, 'hf_encoder_decoder.py'), '--out', out, '--input-spec', join(parityDir, 'input-spec.json'), '--parity-input', join(parityDir, 'phantoms.f32')];
  if (options.randomInit) args.push('--random-init');
  else args.push(resolve(options.checkpoint!));
  if (options.seed !== undefined) args.push('--seed', String(options.seed));
  const started = performance.now();
  log(`exporting (hf-vision-encoder-decoder${options.randomInit ? ', random weights' : `, ${options.checkpoint}`}) to ${out}, its encoder reading the input of ${classifier.id} ${classifier.version}`);
  const py = await run(options.python, args, { cwd: PYTHON_DIR, onStderr: (c) => log(c.trimEnd()) });
  if (py.code !== 0) throw new ImportModelError(`the export failed (exit ${py.code}): ${py.stderr.trim().split('\n').filter((l) => l.startsWith('error:')).join(' ') || py.stderr.trim().split('\n').pop()}`);
  const report = JSON.parse(py.stdout.trim().split('\n').pop() ?? '') as PythonReport;
  const pythonSeconds = (performance.now() - started) / 1000;

  // The package: the classifier's files, the export's, one manifest.
  for (const name of Object.keys(classifier.files)) await copyFile(join(classifierDir, name), join(out, name));
  const manifest = await combinedManifest({
    classifier: classifierJson,
    classifierSha256: createHash('sha256').update(classifierBytes).digest('hex'),
    dir: out,
    id: options.id ?? `${classifier.id}-hf-text${options.randomInit ? '-random' : ''}`,
    version: options.version ?? '0.1.0',
    randomInit: options.randomInit,
    text: { source: report.source, architecture: report.architecture, encoderInput: report.encoderInput, parity: report.parity, timings: report.timings },
  });
  await writeFile(join(out, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const t0 = performance.now();
  const node = await checkParity(join(out, TEXT_FILES.encoderFile), parityDir, ['last_hidden_state']);
  if (!node.pass) throw new ImportModelError(`onnxruntime-node differs from PyTorch: ${JSON.stringify(node.maxAbsDiff)} (tolerances ${JSON.stringify(node.tolerance)})`);
  const fixture = JSON.parse(await readFile(join(parityDir, 'generate.json'), 'utf8')) as GenerateFixture;
  const generated = await nodeGeneration(out, batch, [images.length, prep.channels, prep.size, prep.size], fixture);
  const failed = generated.filter((g) => !g.idsEqual);
  if (failed.length > 0) throw new ImportModelError(`onnxruntime-node generation differs from transformers' generate() (${failed.map((g) => g.name).join(', ')}): ${JSON.stringify(failed)}`);
  const paritySeconds = (performance.now() - t0) / 1000;

  const t1 = performance.now();
  const pkg = await loadModelPackage(out);
  try {
    const analyses = await pkg.analyse(images);
    const phantoms = analyses.map((a, n) => {
      const text = `${a.text.findings} ${a.text.impression}`.trim();
      // Out of the classifier's scope (its OOD detector may flag phantoms), the package writes no text to compare.
      return { inScope: a.scope.inScope, text, complete: a.text.complete, textEqual: a.scope.inScope ? text === splitAtMarker(fixture.texts[n]!, undefined).findings : null };
    });
    if (phantoms.some((p) => p.textEqual === false)) throw new ImportModelError(`the loaded package's text differs from PyTorch's: ${JSON.stringify(phantoms.map((p, n) => ({ package: p.text, pytorch: fixture.texts[n] })))}`);
    if (!options.keepParity) await rm(parityDir, { recursive: true, force: true });
    return {
      out,
      randomInit: options.randomInit,
      parity: { ...report.parity, onnxruntimeNode: node, generate: generated.map(({ name, idsEqual, tokens }) => ({ name, idsEqual, tokens })) },
      encoderInput: report.encoderInput,
      timings: { ...report.timings, pythonSeconds: round(pythonSeconds), nodeParitySeconds: round(paritySeconds), loadAndAnalyseSeconds: round((performance.now() - t1) / 1000) },
      loaded: { id: pkg.manifest.id, version: pkg.manifest.version, labels: pkg.manifest.labels.length, executionProvider: pkg.executionProvider },
      phantoms,
    };
  } finally {
    await pkg.close();
  }
}

/** The package's encoder and two decoder graphs in onnxruntime-node, generating with each fixture setting. */
async function nodeGeneration(dir: string, batch: Float32Array, shape: number[], fixture: GenerateFixture): Promise<{ name: string; idsEqual: boolean; tokens: number[]; ids: number[][]; expected: number[][] }[]> {
  const opts: ort.InferenceSession.SessionOptions = { executionProviders: ['cpu'] };
  const [encoder, first, withPast] = await Promise.all([TEXT_FILES.encoderFile, TEXT_FILES.decoderFile, TEXT_FILES.decoderWithPastFile].map((f) => ort.InferenceSession.create(join(dir, f), opts)));
  try {
    const states = (await encoder!.run({ [encoder!.inputNames[0]!]: new ort.Tensor('float32', batch, shape) })).last_hidden_state as ort.Tensor;
    const layout = twoGraphCacheLayoutOf(first!, withPast!, { first: TEXT_FILES.decoderFile, withPast: TEXT_FILES.decoderWithPastFile });
    const results = [];
    for (const v of fixture.variants) {
      const { ids } = await generate({ first: first!, withPast: withPast! }, layout, states, generationSettingsOf(v.generationConfig, `generate.json ${v.name}`));
      results.push({ name: v.name, idsEqual: JSON.stringify(ids) === JSON.stringify(v.ids), tokens: ids.map((r) => r.length), ids, expected: v.ids });
    }
    return results;
  } finally {
    await Promise.all([encoder, first, withPast].map((s) => s!.release()));
  }
}
