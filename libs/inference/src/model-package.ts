// Loading a model package: manifest (zod), file integrity (size + sha256 of the very bytes the
// sessions are created from), ONNX sessions with our own CUDA → CPU fallback, and a check that the
// graphs' inputs and outputs are the ones the manifest declares. `analyse` runs a batch with one
// vision session.run and, with a GRU or Hugging Face decoder, one decoder session.run per generated
// token for the whole batch.
// Both manifest formats (v1, v2: docs/model-package.md) are turned into one `Layout` first.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { DEFAULT_MODEL_SCOPE, type ImageScope, type ModelScope } from '@cxr/contracts';
import { ModelPackageError } from './errors.ts';
import { checkImage } from './image-checks.ts';
import { createOodDetector, type OodDetector } from './ood.ts';
import { classActivationMaps, parseCamWeights, type CamWeights } from './cam.ts';
import { cropHeatmap, heatmapPeak, type Heatmap } from './heatmap.ts';
import { isManifestV2, labelsRead, modelManifestV1Schema, modelManifestV2Schema, type ModelManifest, type TensorSpec } from './manifest.ts';
import { preprocessInto, preprocessV2Into, type ContentBox, type PresentationImage } from './preprocess.ts';
import { createHfText, type HfText, type HfTextSpec } from './hf-text.ts';
import { tensorRows } from './tensor-rows.ts';
import { templatedText } from './templated-text.ts';
import { decodeReports, type DecodedText, type GruDecoderSpec } from './text-decoder.ts';

export type ExecutionProvider = 'cuda' | 'cpu';

export interface LoadOptions {
  /** Tried in order; default ['cpu']. */
  executionProviders?: ExecutionProvider[];
  intraOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export interface FindingAnalysis {
  code: string;
  display: string;
  probability: number;
  /** probability >= the manifest's threshold for this finding. */
  positive: boolean;
  heatmap: Heatmap;
  /** Heatmap maximum, normalised 0..1 in image coordinates. */
  peak: { x: number; y: number };
}

export interface ImageAnalysis {
  /**
   * Whether the model read the image: an image outside its scope (pixel checks, out-of-distribution
   * score) has no findings and no text.
   */
  scope: ImageScope;
  findings: FindingAnalysis[];
  /** `complete: false`: decoding hit maxLength without the stop token (see text-decoder.ts). */
  text: { findings: string; impression: string; complete: boolean };
  /** This image's share of the batch's time (batch time / batch size). */
  timingsMs: { preprocess: number; vision: number; decode: number; scope: number };
}

export interface ModelPackage {
  manifest: ModelManifest;
  /** The provider really used. */
  executionProvider: ExecutionProvider;
  /** Set when a requested provider could not be used, e.g. CUDA without its libraries. */
  fallback: { from: ExecutionProvider; reason: string } | null;
  /** sha256 of manifest.json, which itself pins every file's sha256. */
  sha256: string;
  /** The manifest's scope, or DEFAULT_MODEL_SCOPE for a package that states none. */
  scope: ModelScope;
  /** False for a package without an out-of-distribution detector (images are then read on the pixel checks alone). */
  hasOodDetector: boolean;
  analyse(images: PresentationImage[]): Promise<ImageAnalysis[]>;
  close(): Promise<void>;
}

const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

async function readManifest(dir: string): Promise<{ manifest: ModelManifest; bytes: Buffer }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, 'manifest.json'));
  } catch (err) {
    throw new ModelPackageError(`manifest.json: cannot read it in ${dir} (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new ModelPackageError(`manifest.json: not valid JSON (${(err as Error).message})`, { cause: err });
  }
  // The format's own schema, so a refusal names the field at fault rather than "no format matched".
  const version = json !== null && typeof json === 'object' ? json as { schemaVersion?: unknown; formatVersion?: unknown } : {};
  const schema = version.formatVersion !== undefined ? modelManifestV2Schema : version.schemaVersion !== undefined ? modelManifestV1Schema : null;
  if (!schema) throw new ModelPackageError('manifest.json: invalid (neither schemaVersion 1 nor formatVersion 2: not a model package manifest)');
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelPackageError(`manifest.json: invalid (${issues})`);
  }
  return { manifest: parsed.data, bytes };
}

async function readVerifiedFiles(dir: string, manifest: ModelManifest): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const [name, entry] of Object.entries(manifest.files)) {
    let bytes: Buffer;
    try {
      bytes = await readFile(join(dir, name));
    } catch (err) {
      throw new ModelPackageError(`${name}: missing from the package (${(err as NodeJS.ErrnoException).code ?? String(err)})`, { cause: err });
    }
    if (bytes.length !== entry.bytes) throw new ModelPackageError(`${name}: size mismatch (manifest ${entry.bytes} bytes, file ${bytes.length} bytes)`);
    const actual = sha256Hex(bytes);
    if (actual !== entry.sha256) throw new ModelPackageError(`${name}: sha256 mismatch (manifest ${entry.sha256}, file ${actual})`);
    files.set(name, bytes);
  }
  return files;
}

function sameShape(expected: TensorSpec['shape'], actual: ReadonlyArray<number | string>): boolean {
  if (actual.length === 0) return true; // the graph does not declare a shape
  if (expected.length !== actual.length) return false;
  return expected.every((d, i) => (typeof d === 'number' ? actual[i] === d : true));
}

function checkGraph(file: string, session: ort.InferenceSession, inputs: TensorSpec[], outputs: TensorSpec[]): void {
  const check = (kind: 'input' | 'output', specs: TensorSpec[], names: readonly string[], metadata: readonly ort.InferenceSession.ValueMetadata[]): void => {
    for (const spec of specs) {
      if (!names.includes(spec.name)) throw new ModelPackageError(`${file}: ${kind} '${spec.name}' missing from the graph (graph ${kind}s: ${names.join(', ')})`);
      const meta = metadata.find((m) => m.name === spec.name);
      if (meta && meta.isTensor) {
        if (meta.type !== spec.dtype) throw new ModelPackageError(`${file}: ${kind} '${spec.name}' has type ${meta.type}, manifest says ${spec.dtype}`);
        if (!sameShape(spec.shape, meta.shape))
          throw new ModelPackageError(`${file}: ${kind} '${spec.name}' has shape [${meta.shape.join(',')}], manifest says [${spec.shape.join(',')}]`);
      }
    }
  };
  check('input', inputs, session.inputNames, session.inputMetadata ?? []);
  check('output', outputs, session.outputNames, session.outputMetadata ?? []);
}

async function createSessions(
  files: Map<string, Uint8Array>,
  names: string[],
  options: LoadOptions,
): Promise<{ sessions: Map<string, ort.InferenceSession>; provider: ExecutionProvider; fallback: ModelPackage['fallback'] }> {
  const providers = options.executionProviders?.length ? options.executionProviders : (['cpu'] as ExecutionProvider[]);
  const base: ort.InferenceSession.SessionOptions = {
    ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    ...(options.graphOptimizationLevel !== undefined ? { graphOptimizationLevel: options.graphOptimizationLevel } : {}),
  };
  let fallback: ModelPackage['fallback'] = null;
  let lastError: unknown;
  for (const provider of providers) {
    // onnxruntime-node throws (rather than falling back) when CUDA libraries are absent, so each
    // provider is tried on its own and the first that creates every session wins.
    const sessions = new Map<string, ort.InferenceSession>();
    try {
      // A failed CUDA attempt makes onnxruntime print its own error through its process-wide logger,
      // for a failure handled here: the CUDA attempt runs at fatal-only severity. (The process-wide
      // level is fixed when onnxruntime first initialises, so it may stay at 'fatal'; runtime errors
      // still surface as exceptions.)
      const opts: ort.InferenceSession.SessionOptions = { ...base, executionProviders: [provider], ...(provider === 'cpu' ? {} : { logSeverityLevel: 4 as const }) };
      if (provider !== 'cpu') ort.env.logLevel = 'fatal';
      for (const name of names) sessions.set(name, await ort.InferenceSession.create(files.get(name)!, opts));
      return { sessions, provider, fallback };
    } catch (err) {
      await Promise.all([...sessions.values()].map((s) => s.release()));
      lastError = err;
      fallback ??= { from: provider, reason: err instanceof Error ? err.message.split('\n')[0]! : String(err) };
    }
  }
  throw new ModelPackageError(`cannot create ONNX sessions with providers ${providers.join(', ')}: ${String(lastError)}`, { cause: lastError });
}

/** What the analysis needs from either manifest format. */
interface Layout {
  visionFile: string;
  inputName: string;
  size: number;
  channels: 1 | 3;
  preprocess: (image: PresentationImage, out: Float32Array) => Promise<ContentBox>;
  scores: { output: string; kind: 'logits' | 'probabilities' };
  heatmaps: { method: 'graph'; output: string; grid: number } | { method: 'cam'; featureMap: string; grid: number; weights: CamWeights };
  text:
    | { decoder: 'gru'; file: string; spec: GruDecoderSpec; conditioning: string }
    | { decoder: 'hf'; spec: HfTextSpec; file: string; withPastFile: string | null; encoderFile: string; encoderOutput: string }
    | { decoder: 'none' };
}

/** How either manifest format builds its input tensor: `channels*size*size` floats per image. */
export interface ManifestPreprocessing {
  size: number;
  channels: 1 | 3;
  /** Fills `out` (one image's tensor) and returns where the image lies in input pixels. */
  into(image: PresentationImage, out: Float32Array): Promise<ContentBox>;
}

export function manifestPreprocessing(manifest: ModelManifest): ManifestPreprocessing {
  const size = manifest.input.size;
  if (!isManifestV2(manifest)) {
    const spec = { size, kernel: manifest.input.resize.kernel, epsilon: manifest.input.normalisation.epsilon };
    return { size, channels: 1, into: (image, out) => preprocessInto(image, spec, out) };
  }
  const { channels, resize, normalisation } = manifest.input;
  const spec = { size, channels, resize, normalisation };
  return { size, channels, into: (image, out) => preprocessV2Into(image, spec, out) };
}

/** The side of the square heatmap grid over the input: graph heatmaps' or the CAM feature map's. */
export function heatmapGridOf(manifest: ModelManifest): number {
  const name = !isManifestV2(manifest) ? 'heatmaps' : manifest.heatmaps.method === 'graph' ? manifest.heatmaps.output : manifest.heatmaps.featureMap;
  return Number(manifest.outputs.find((o) => o.name === name && o.file === manifest.input.file)!.shape[2]);
}

/** The GRU decoder of a package (v1's `decoder`, v2's `text` with `decoder: "gru"`), or null when it has another or none. */
export function gruDecoderOf(manifest: ModelManifest): (GruDecoderSpec & { conditioning: string }) | null {
  if (!isManifestV2(manifest)) return { ...manifest.decoder, conditioning: 'conditioning' };
  return manifest.text.decoder === 'gru' ? manifest.text : null;
}

function layoutOf(manifest: ModelManifest, files: Map<string, Uint8Array>): Layout {
  const input = manifest.input;
  const preprocessing = manifestPreprocessing(manifest);
  if (!isManifestV2(manifest)) {
    return {
      visionFile: input.file,
      inputName: input.name,
      size: input.size,
      channels: 1,
      preprocess: preprocessing.into,
      scores: { output: 'logits', kind: 'logits' },
      heatmaps: { method: 'graph', output: 'heatmaps', grid: heatmapGridOf(manifest) },
      text: { decoder: 'gru', file: manifest.decoder.file, spec: manifest.decoder, conditioning: 'conditioning' },
    };
  }
  const { text, heatmaps } = manifest;
  return {
    visionFile: input.file,
    inputName: input.name,
    size: input.size,
    channels: manifest.input.channels,
    preprocess: preprocessing.into,
    scores: manifest.scores,
    heatmaps:
      heatmaps.method === 'graph'
        ? { method: 'graph', output: heatmaps.output, grid: heatmapGridOf(manifest) }
        : { method: 'cam', featureMap: heatmaps.featureMap, grid: heatmapGridOf(manifest), weights: parseCamWeights(files.get(heatmaps.weights)!, heatmaps.weightsFormat, manifest.labels.length, heatmaps.channels, heatmaps.weights) },
    text:
      text.decoder === 'gru'
        ? { decoder: 'gru', file: text.file, spec: text, conditioning: text.conditioning }
        : text.decoder === 'hf-encoder-decoder'
          ? { decoder: 'hf', spec: text, file: text.decoderFile, withPastFile: text.decoderWithPastFile ?? null, encoderFile: text.encoderFile, encoderOutput: text.encoderOutput }
          : { decoder: 'none' },
  };
}

export async function loadModelPackage(dir: string, options: LoadOptions = {}): Promise<ModelPackage> {
  const { manifest, bytes } = await readManifest(dir);
  const files = await readVerifiedFiles(dir, manifest);
  const layout = layoutOf(manifest, files);
  const visionFile = layout.visionFile;
  const decoderFile = layout.text.decoder === 'none' ? null : layout.text.file;
  const encoderFile = layout.text.decoder === 'hf' && layout.text.encoderFile !== visionFile ? layout.text.encoderFile : null;
  const withPastFile = layout.text.decoder === 'hf' ? layout.text.withPastFile : null;
  const ood = manifest.ood ? createOodDetector(manifest.ood, files.get(manifest.ood.file)!) : null;
  const { sessions, provider, fallback } = await createSessions(files, [...new Set([visionFile, ...(decoderFile ? [decoderFile] : []), ...(withPastFile ? [withPastFile] : []), ...(encoderFile ? [encoderFile] : [])])], options);
  const vision = sessions.get(visionFile)!;
  const decoder = decoderFile ? sessions.get(decoderFile)! : null;
  let hf: HfParts | null = null;
  try {
    checkGraph(visionFile, vision, [manifest.input], manifest.outputs.filter((o) => o.file === visionFile));
    if (decoder && layout.text.decoder === 'gru') checkGraph(decoderFile!, decoder, layout.text.spec.inputs, layout.text.spec.outputs);
    if (decoder && layout.text.decoder === 'hf') hf = hfPartsOf(layout.text, files, decoder, withPastFile ? sessions.get(withPastFile)! : null, encoderFile ? sessions.get(encoderFile)! : null, vision);
  } catch (err) {
    await Promise.all([...sessions.values()].map((s) => s.release()));
    throw err;
  }
  return createModelPackage(manifest, layout, sha256Hex(bytes), [...sessions.values()], vision, decoder, hf, provider, fallback, ood);
}

/** The Hugging Face text's parts: its generation, and where its encoder states come from. */
interface HfParts {
  text: HfText;
  /** A separate encoder graph run on the same input tensor, or null when the input graph outputs the states. */
  encoder: { session: ort.InferenceSession; input: string } | null;
  output: string;
}

function hfPartsOf(spec: Extract<Layout['text'], { decoder: 'hf' }>, files: Map<string, Uint8Array>, decoder: ort.InferenceSession, withPast: ort.InferenceSession | null, encoder: ort.InferenceSession | null, vision: ort.InferenceSession): HfParts {
  const graph = encoder ?? vision;
  const graphFile = encoder ? spec.encoderFile : 'the input graph';
  if (!graph.outputNames.includes(spec.encoderOutput)) throw new ModelPackageError(`${spec.encoderFile}: output '${spec.encoderOutput}' missing from ${graphFile} (outputs: ${graph.outputNames.join(', ')})`);
  if (encoder && encoder.inputNames.length !== 1) throw new ModelPackageError(`${spec.encoderFile}: the encoder graph must take one input (the image tensor); it takes ${encoder.inputNames.join(', ')}`);
  return { text: createHfText(spec.spec, files, decoder, withPast), encoder: encoder ? { session: encoder, input: encoder.inputNames[0]! } : null, output: spec.encoderOutput };
}

function createModelPackage(
  manifest: ModelManifest,
  layout: Layout,
  sha256: string,
  sessions: ort.InferenceSession[],
  vision: ort.InferenceSession,
  decoder: ort.InferenceSession | null,
  hf: HfParts | null,
  executionProvider: ExecutionProvider,
  fallback: ModelPackage['fallback'],
  ood: OodDetector | null,
): ModelPackage {
  const scope = manifest.scope ?? DEFAULT_MODEL_SCOPE;
  const { size, channels } = layout;
  const grid = layout.heatmaps.grid;
  const K = manifest.labels.length;
  const thresholds = manifest.labels.map((l) => manifest.thresholds.values[l.code]!);
  const labelRead = labelsRead(manifest);
  let closed = false;

  async function runVision(images: PresentationImage[]): Promise<{ out: ort.InferenceSession.OnnxValueMapType; input: ort.Tensor; boxes: ContentBox[]; preprocessMs: number }> {
    const N = images.length;
    const t0 = performance.now();
    const per = channels * size * size;
    const batch = new Float32Array(N * per);
    const boxes: ContentBox[] = await Promise.all(images.map((img, n) => layout.preprocess(img, batch.subarray(n * per, (n + 1) * per))));
    const preprocessMs = performance.now() - t0;
    const input = new ort.Tensor('float32', batch, [N, channels, size, size]);
    const out = await vision.run({ [layout.inputName]: input });
    return { out, input, boxes, preprocessMs };
  }

  /** Per-label probabilities [N, K] from the scores output. */
  function probabilities(out: ort.InferenceSession.OnnxValueMapType): Float64Array {
    const scores = out[layout.scores.output]!.data as Float32Array;
    const p = new Float64Array(scores.length);
    if (layout.scores.kind === 'logits') for (let i = 0; i < p.length; i++) p[i] = 1 / (1 + Math.exp(-scores[i]!));
    else for (let i = 0; i < p.length; i++) p[i] = Math.min(1, Math.max(0, scores[i]!));
    return p;
  }

  /** Heatmaps [N, K, grid, grid], 0..1, over the input. */
  function heatmapsOf(out: ort.InferenceSession.OnnxValueMapType, N: number): Float32Array {
    const h = layout.heatmaps;
    if (h.method === 'graph') return out[h.output]!.data as Float32Array;
    return classActivationMaps(out[h.featureMap]!.data as Float32Array, N, grid * grid, h.weights, true, labelRead);
  }

  /** Out-of-distribution scores of a batch's rows (null without a detector). */
  function oodScores(out: ort.InferenceSession.OnnxValueMapType, N: number): (number | null)[] {
    if (!ood) return Array.from({ length: N }, () => null);
    const tensor = out[ood.spec.output] as ort.Tensor;
    const width = tensor.dims[1]!;
    const data = tensor.data as Float32Array;
    return Array.from({ length: N }, (_, n) => ood.score(data.subarray(n * width, (n + 1) * width)));
  }

  async function analyse(images: PresentationImage[]): Promise<ImageAnalysis[]> {
    if (closed) throw new Error('model package is closed');
    const N = images.length;
    if (N === 0) return [];
    const t0 = performance.now();
    const { out, input, boxes, preprocessMs } = await runVision(images);
    const t1 = performance.now();
    const scopes = await scopeOf(images, out);
    const t2 = performance.now();
    const read = scopes.flatMap((s, n) => (s.inScope ? [n] : []));
    const probability = probabilities(out);
    const heat = heatmapsOf(out, N);
    const cells = grid * grid;
    // A label the model was not trained to read (`trained: false`) gets no finding.
    const findingsOf = (n: number): FindingAnalysis[] =>
      manifest.labels.flatMap((label, k) => {
        if (!labelRead[k]) return [];
        const map = heat.subarray((n * K + k) * cells, (n * K + k + 1) * cells);
        const p = probability[n * K + k]!;
        return {
          code: label.code,
          display: label.display,
          probability: p,
          positive: p >= thresholds[k]!,
          heatmap: cropHeatmap(map, grid, size, boxes[n]!),
          peak: heatmapPeak(map, grid, size, boxes[n]!),
        } satisfies FindingAnalysis;
      });
    const findings = new Map<number, FindingAnalysis[]>(read.map((n) => [n, findingsOf(n)]));
    const t3a = performance.now();
    const texts = new Map<number, DecodedText>();
    if (read.length > 0) {
      if (layout.text.decoder === 'gru') {
        const conditioning = out[layout.text.conditioning] as ort.Tensor;
        const decoded = await decodeReports(decoder!, layout.text.spec, read.length === N ? conditioning : tensorRows(conditioning, read), read.length);
        read.forEach((n, i) => texts.set(n, decoded[i]!));
      } else if (hf) {
        const states = hf.encoder ? ((await hf.encoder.session.run({ [hf.encoder.input]: read.length === N ? input : tensorRows(input, read) }))[hf.output] as ort.Tensor) : (out[hf.output] as ort.Tensor);
        const decoded = await hf.text.decode(hf.encoder || read.length === N ? states : tensorRows(states, read));
        read.forEach((n, i) => texts.set(n, decoded[i]!));
      } else {
        for (const n of read) texts.set(n, templatedText(findings.get(n)!));
      }
    }
    const t3 = performance.now();
    const timingsMs = { preprocess: preprocessMs / N, vision: (t1 - t0 - preprocessMs) / N, decode: (t3 - t3a) / N, scope: (t2 - t1) / N };
    return images.map((_, n) => ({
      scope: scopes[n]!,
      findings: findings.get(n) ?? [],
      text: texts.get(n) ?? { findings: '', impression: '', complete: true },
      timingsMs,
    }));
  }

  /**
   * The scope decision for each image: the pixel checks, then the out-of-distribution score. An image
   * the score flags is scored once more inverted: if its inverse is in distribution, the image is
   * shown with the wrong polarity (its own reason), else it is unlike the training images.
   */
  async function scopeOf(images: PresentationImage[], out: ort.InferenceSession.OnnxValueMapType): Promise<ImageScope[]> {
    const scores = oodScores(out, images.length);
    const limit = ood ? ood.spec.threshold : null;
    const scopes: (ImageScope | null)[] = images.map((image, n) => {
      const failed = checkImage(image, { minImageSize: scope.minImageSize, sourceSize: image.source });
      if (failed) return { inScope: false, check: failed.check, reason: failed.reason, score: scores[n]!, limit };
      const score = scores[n]!;
      if (score === null || limit === null || score <= limit) return { inScope: true, score, limit };
      return null; // flagged by the score: polarity decided below
    });
    const flagged = scopes.flatMap((s, n) => (s === null ? [n] : []));
    if (flagged.length > 0) {
      const inverted = await runVision(flagged.map((n) => invert(images[n]!)));
      const invertedScores = oodScores(inverted.out, flagged.length);
      flagged.forEach((n, i) => {
        const score = scores[n]!;
        scopes[n] =
          invertedScores[i]! <= limit!
            ? { inScope: false, check: 'polarity', reason: `The image appears inverted: shown the other way round it is like the radiographs the model was trained on (score ${formatScore(score)}, inverted ${formatScore(invertedScores[i]!)}, limit ${formatScore(limit!)}). Check its Photometric Interpretation.`, score, limit }
            : { inScope: false, check: 'out-of-distribution', reason: `It is unlike the chest radiographs it was trained on (score ${formatScore(score)}, limit ${formatScore(limit!)}).`, score, limit };
      });
    }
    return scopes as ImageScope[];
  }

  return {
    manifest,
    executionProvider,
    fallback,
    sha256,
    scope,
    hasOodDetector: ood !== null,
    analyse,
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all(sessions.map((s) => s.release()));
    },
  };
}

const formatScore = (score: number): string => score.toFixed(1);

function invert(image: PresentationImage): PresentationImage {
  const data = new Uint16Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 65535 - image.data[i]!;
  return { width: image.width, height: image.height, data };
}
