// The part of a model package that runs graphs: its ONNX sessions (with our own CUDA -> CPU
// fallback, and a check that each graph's inputs and outputs are the ones the manifest declares),
// behind two calls: the vision graph on an input batch, and the text decoder (GRU or Hugging Face)
// on rows. Everything else a package does (preprocessing, scope, heatmaps, templated text) is in
// model-package.ts and runs in the caller's thread, so a model thread (model-thread.ts) runs
// nothing but graphs.
import * as ort from 'onnxruntime-node';
import { ModelPackageError } from './errors.ts';
import type { TensorSpec } from './manifest.ts';
import type { PackageParts } from './package-reader.ts';
import { createHfText, type HfText } from './hf-text.ts';
import { decodeReports, type DecodedText } from './text-decoder.ts';

export type ExecutionProvider = 'cuda' | 'cpu';

export interface LoadOptions {
  /** Tried in order; default ['cpu']. */
  executionProviders?: ExecutionProvider[];
  intraOpNumThreads?: number;
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

export type ProviderFallback = { from: ExecutionProvider; reason: string } | null;

export interface ModelEngine {
  /** The provider really used. */
  executionProvider: ExecutionProvider;
  /** Set when a requested provider could not be used, e.g. CUDA without its libraries. */
  fallback: ProviderFallback;
  /** The vision graph's outputs for `input` [N, C, S, S], and the ms its session.run took. */
  vision(input: ort.Tensor): Promise<{ outputs: Record<string, ort.Tensor>; ms: number }>;
  /**
   * Text for each row of `from`: the GRU's conditioning, the Hugging Face encoder states, or (a
   * Hugging Face package with its own encoder graph) the input images. Refused without a decoder.
   */
  text(from: ort.Tensor): Promise<{ texts: DecodedText[]; ms: number }>;
  close(): Promise<void>;
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
): Promise<{ sessions: Map<string, ort.InferenceSession>; provider: ExecutionProvider; fallback: ProviderFallback }> {
  const providers = options.executionProviders?.length ? options.executionProviders : (['cpu'] as ExecutionProvider[]);
  const base: ort.InferenceSession.SessionOptions = {
    ...(options.intraOpNumThreads !== undefined ? { intraOpNumThreads: options.intraOpNumThreads } : {}),
    ...(options.graphOptimizationLevel !== undefined ? { graphOptimizationLevel: options.graphOptimizationLevel } : {}),
  };
  let fallback: ProviderFallback = null;
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

/**
 * Opens the package's graphs (read with `readModelPackage`, graphs included) and checks them
 * against the manifest.
 */
export async function createLocalEngine(parts: PackageParts, options: LoadOptions = {}): Promise<ModelEngine> {
  const { manifest, layout, files, graphs } = parts;
  const names = [...new Set([graphs.vision, graphs.decoder, graphs.decoderWithPast, graphs.encoder].filter((f): f is string => f !== null))];
  for (const name of names) if (!files.has(name)) throw new Error(`${name}: not read (readModelPackage with graphs: false)`);
  const { sessions, provider, fallback } = await createSessions(files, names, options);
  const vision = sessions.get(graphs.vision)!;
  const decoder = graphs.decoder ? sessions.get(graphs.decoder)! : null;
  let text: ((from: ort.Tensor) => Promise<DecodedText[]>) | null = null;
  try {
    checkGraph(graphs.vision, vision, [manifest.input], manifest.outputs.filter((o) => o.file === graphs.vision));
    if (decoder && layout.text.decoder === 'gru') {
      const spec = layout.text.spec;
      checkGraph(graphs.decoder!, decoder, spec.inputs, spec.outputs);
      text = (conditioning) => decodeReports(decoder, spec, conditioning, conditioning.dims[0]!);
    }
    if (decoder && layout.text.decoder === 'hf') {
      const hf = hfPartsOf(layout.text, files, decoder, graphs.decoderWithPast ? sessions.get(graphs.decoderWithPast)! : null, graphs.encoder ? sessions.get(graphs.encoder)! : null, vision);
      text = async (from) => {
        const states = hf.encoder ? ((await hf.encoder.session.run({ [hf.encoder.input]: from }))[hf.output] as ort.Tensor) : from;
        return hf.text.decode(states);
      };
    }
  } catch (err) {
    await Promise.all([...sessions.values()].map((s) => s.release()));
    throw err;
  }
  let closed = false;
  return {
    executionProvider: provider,
    fallback,
    async vision(input) {
      if (closed) throw new Error('model package is closed');
      const t0 = performance.now();
      const outputs = await vision.run({ [layout.inputName]: input });
      return { outputs, ms: performance.now() - t0 };
    },
    async text(from) {
      if (closed) throw new Error('model package is closed');
      if (!text) throw new Error('this package has no text decoder');
      const t0 = performance.now();
      const texts = await text(from);
      return { texts, ms: performance.now() - t0 };
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([...sessions.values()].map((s) => s.release()));
    },
  };
}

/** The Hugging Face text's parts: its generation, and where its encoder states come from. */
interface HfParts {
  text: HfText;
  /** A separate encoder graph run on the same input tensor, or null when the input graph outputs the states. */
  encoder: { session: ort.InferenceSession; input: string } | null;
  output: string;
}

function hfPartsOf(spec: Extract<PackageParts['layout']['text'], { decoder: 'hf' }>, files: Map<string, Uint8Array>, decoder: ort.InferenceSession, withPast: ort.InferenceSession | null, encoder: ort.InferenceSession | null, vision: ort.InferenceSession): HfParts {
  const graph = encoder ?? vision;
  const graphFile = encoder ? spec.encoderFile : 'the input graph';
  if (!graph.outputNames.includes(spec.encoderOutput)) throw new ModelPackageError(`${spec.encoderFile}: output '${spec.encoderOutput}' missing from ${graphFile} (outputs: ${graph.outputNames.join(', ')})`);
  if (encoder && encoder.inputNames.length !== 1) throw new ModelPackageError(`${spec.encoderFile}: the encoder graph must take one input (the image tensor); it takes ${encoder.inputNames.join(', ')}`);
  return { text: createHfText(spec.spec, files, decoder, withPast), encoder: encoder ? { session: encoder, input: encoder.inputNames[0]! } : null, output: spec.encoderOutput };
}
