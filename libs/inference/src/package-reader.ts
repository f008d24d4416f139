// Reading a model package from its directory: the manifest (zod, either format), every file it
// pins (size + sha256 of the very bytes used), and one `Layout` the analysis works from, whichever
// format (v1, v2: docs/model-package.md) the package is in. No ONNX session is created here:
// model-engine.ts does that, in this thread or in a model thread (model-thread.ts).
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ModelPackageError } from './errors.ts';
import { createOodDetector, type OodDetector } from './ood.ts';
import { parseCamWeights, type CamWeights } from './cam.ts';
import { isManifestV2, modelManifestV1Schema, modelManifestV2Schema, type ModelManifest } from './manifest.ts';
import { preprocessInto, preprocessV2Into, type ContentBox, type PresentationImage } from './preprocess.ts';
import type { HfTextSpec } from './hf-text.ts';
import type { GruDecoderSpec } from './text-decoder.ts';

export const sha256Hex = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

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

async function readVerifiedFiles(dir: string, manifest: ModelManifest, wanted: (name: string) => boolean): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  for (const [name, entry] of Object.entries(manifest.files)) {
    if (!wanted(name)) continue;
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

/** What the analysis needs from either manifest format. */
export interface Layout {
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

/** A package read and checked, ready for an engine to run its graphs. */
export interface PackageParts {
  manifest: ModelManifest;
  /** sha256 of manifest.json, which itself pins every file's sha256. */
  sha256: string;
  layout: Layout;
  ood: OodDetector | null;
  /** The verified files by name (without the ONNX graphs when read with `graphs: false`). */
  files: Map<string, Uint8Array>;
  /** The ONNX graphs the engine opens: the vision graph, then the decoder and encoder when there are. */
  graphs: { vision: string; decoder: string | null; decoderWithPast: string | null; encoder: string | null };
}

/**
 * Reads and verifies `dir`. With `graphs: false` the ONNX graphs are left unread (their hashes are
 * checked where the sessions are created: the model thread reads the same directory).
 */
export async function readModelPackage(dir: string, options: { graphs?: boolean } = {}): Promise<PackageParts> {
  const { manifest, bytes } = await readManifest(dir);
  const graphs = graphFilesOf(manifest);
  const graphNames = new Set([graphs.vision, graphs.decoder, graphs.decoderWithPast, graphs.encoder].filter((f): f is string => f !== null));
  const files = await readVerifiedFiles(dir, manifest, options.graphs === false ? (name) => !graphNames.has(name) : () => true);
  const layout = layoutOf(manifest, files);
  const ood = manifest.ood ? createOodDetector(manifest.ood, files.get(manifest.ood.file)!) : null;
  return { manifest, sha256: sha256Hex(bytes), layout, ood, files, graphs };
}

function graphFilesOf(manifest: ModelManifest): PackageParts['graphs'] {
  const vision = manifest.input.file;
  if (!isManifestV2(manifest)) return { vision, decoder: manifest.decoder.file, decoderWithPast: null, encoder: null };
  const text = manifest.text;
  if (text.decoder === 'gru') return { vision, decoder: text.file, decoderWithPast: null, encoder: null };
  if (text.decoder === 'hf-encoder-decoder') return { vision, decoder: text.decoderFile, decoderWithPast: text.decoderWithPastFile ?? null, encoder: text.encoderFile !== vision ? text.encoderFile : null };
  return { vision, decoder: null, decoderWithPast: null, encoder: null };
}
