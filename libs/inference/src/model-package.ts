// A model package: what it finds in a batch of images. `loadModelPackage` reads the package
// (package-reader.ts: manifest, verified files, one `Layout` for either format) and opens its
// graphs (model-engine.ts); `modelPackageOf` is the analysis itself: preprocessing, the scope
// decision, probabilities, heatmaps (graph or class activation maps), and text (GRU or Hugging
// Face decoder, or templated from the findings). It calls the engine for each graph run (one
// vision run per batch; the decoder once per generated token for the whole batch), so the same
// code runs in-process or with the graphs in a model thread (model-thread.ts).
import * as ort from 'onnxruntime-node';
import { DEFAULT_MODEL_SCOPE, type ImageScope, type ModelScope } from '@cxr/contracts';
import { ModelUnavailableError } from './errors.ts';
import { checkImage } from './image-checks.ts';
import { classActivationMaps } from './cam.ts';
import { cropHeatmap, heatmapPeak, type Heatmap } from './heatmap.ts';
import { labelsRead, type ModelManifest } from './manifest.ts';
import type { ContentBox, PresentationImage } from './preprocess.ts';
import { readModelPackage, type PackageParts } from './package-reader.ts';
import { createLocalEngine, type ExecutionProvider, type LoadOptions, type ModelEngine } from './model-engine.ts';
import { tensorRows } from './tensor-rows.ts';
import { templatedText } from './templated-text.ts';
import type { DecodedText } from './text-decoder.ts';

export type { ExecutionProvider, LoadOptions } from './model-engine.ts';
export { gruDecoderOf, heatmapGridOf, manifestPreprocessing, type ManifestPreprocessing } from './package-reader.ts';

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

export async function loadModelPackage(dir: string, options: LoadOptions = {}): Promise<ModelPackage> {
  const parts = await readModelPackage(dir);
  const engine = await createLocalEngine(parts, options);
  parts.files.clear(); // the sessions hold the graphs; the analysis keeps what it parsed from the rest
  return modelPackageOf(parts, engine);
}

type OutputMap = Record<string, ort.Tensor>;

/** The analysis of a package read with `readModelPackage`, its graphs run by `engine`. */
export function modelPackageOf(parts: PackageParts, engine: ModelEngine): ModelPackage {
  const { manifest, layout, sha256, ood } = parts;
  const scope = manifest.scope ?? DEFAULT_MODEL_SCOPE;
  const { size, channels } = layout;
  const grid = layout.heatmaps.grid;
  const K = manifest.labels.length;
  const thresholds = manifest.labels.map((l) => manifest.thresholds.values[l.code]!);
  const labelRead = labelsRead(manifest);
  let closed = false;

  async function runVision(images: PresentationImage[]): Promise<{ out: OutputMap; input: ort.Tensor; boxes: ContentBox[]; preprocessMs: number; visionMs: number }> {
    const N = images.length;
    const t0 = performance.now();
    const per = channels * size * size;
    const batch = new Float32Array(N * per);
    const boxes: ContentBox[] = await Promise.all(images.map((img, n) => layout.preprocess(img, batch.subarray(n * per, (n + 1) * per))));
    const preprocessMs = performance.now() - t0;
    const input = new ort.Tensor('float32', batch, [N, channels, size, size]);
    const { outputs, ms } = await engine.vision(input);
    return { out: outputs, input, boxes, preprocessMs, visionMs: ms };
  }

  /** What the decoder reads, or null when the text is templated from the findings. */
  function textInput(out: OutputMap, input: ort.Tensor): ort.Tensor | null {
    const text = layout.text;
    if (text.decoder === 'gru') return out[text.conditioning]!;
    if (text.decoder === 'hf') return parts.graphs.encoder ? input : out[text.encoderOutput]!;
    return null;
  }

  /** Per-label probabilities [N, K] from the scores output. */
  function probabilities(out: OutputMap): Float64Array {
    const scores = out[layout.scores.output]!.data as Float32Array;
    const p = new Float64Array(scores.length);
    if (layout.scores.kind === 'logits') for (let i = 0; i < p.length; i++) p[i] = 1 / (1 + Math.exp(-scores[i]!));
    else for (let i = 0; i < p.length; i++) p[i] = Math.min(1, Math.max(0, scores[i]!));
    return p;
  }

  /** Heatmaps [N, K, grid, grid], 0..1, over the input. */
  function heatmapsOf(out: OutputMap, N: number): Float32Array {
    const h = layout.heatmaps;
    if (h.method === 'graph') return out[h.output]!.data as Float32Array;
    return classActivationMaps(out[h.featureMap]!.data as Float32Array, N, grid * grid, h.weights, true, labelRead);
  }

  /** Out-of-distribution scores of a batch's rows (null without a detector). */
  function oodScores(out: OutputMap, N: number): (number | null)[] {
    if (!ood) return Array.from({ length: N }, () => null);
    const tensor = out[ood.spec.output] as ort.Tensor;
    const width = tensor.dims[1]!;
    const data = tensor.data as Float32Array;
    return Array.from({ length: N }, (_, n) => ood.score(data.subarray(n * width, (n + 1) * width)));
  }

  async function analyse(images: PresentationImage[]): Promise<ImageAnalysis[]> {
    if (closed) throw new ModelUnavailableError('the model package has been closed');
    const N = images.length;
    if (N === 0) return [];
    const { out, input, boxes, preprocessMs, visionMs } = await runVision(images);
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
    let decodeMs = 0;
    if (read.length > 0) {
      // The decoder reads the in-scope rows: the GRU's conditioning, the encoder states, or the input
      // images when a Hugging Face package has its own encoder graph.
      const from = textInput(out, input);
      if (from) {
        const decoded = await engine.text(read.length === N ? from : tensorRows(from, read));
        read.forEach((n, i) => texts.set(n, decoded.texts[i]!));
        decodeMs = decoded.ms;
      } else {
        for (const n of read) texts.set(n, templatedText(findings.get(n)!));
        decodeMs = performance.now() - t3a;
      }
    }
    // The vision and decode figures are the engine's own session.run time (in a model thread, not the wait for it).
    const timingsMs = { preprocess: preprocessMs / N, vision: visionMs / N, decode: decodeMs / N, scope: (t2 - t1) / N };
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
  async function scopeOf(images: PresentationImage[], out: OutputMap): Promise<ImageScope[]> {
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
    executionProvider: engine.executionProvider,
    fallback: engine.fallback,
    sha256,
    scope,
    hasOodDetector: ood !== null,
    analyse,
    async close() {
      if (closed) return;
      closed = true;
      await engine.close();
    },
  };
}

const formatScore = (score: number): string => score.toFixed(1);

function invert(image: PresentationImage): PresentationImage {
  const data = new Uint16Array(image.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 65535 - image.data[i]!;
  return { width: image.width, height: image.height, data };
}
