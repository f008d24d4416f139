// The model package manifest (models/<id>/manifest.json), documented in docs/model-package.md.
// Two formats: v1 (`schemaVersion: 1`, the reference package's: letterbox + zscore-content, heatmaps
// and decoder conditioning from the graph, the GRU decoder) and v2 (`formatVersion: 2`: the
// preprocessing, outputs, heatmaps and text of exported classifiers and report generators).
import { z } from 'zod';
import { modelScopeSchema, modelValidationSchema } from '@cxr/contracts';
import { oodSpecSchema } from './ood.ts';

const semver = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

/** A dimension: a fixed size, or a symbolic name such as "N" for the batch. */
const dimensionSchema = z.union([z.number().int().positive(), z.string().min(1)]);

export const tensorSpecSchema = z.object({
  name: z.string().min(1),
  dtype: z.enum(['float32', 'int64']),
  shape: z.array(dimensionSchema).min(1),
});
export type TensorSpec = z.infer<typeof tensorSpecSchema>;

const fileEntrySchema = z.object({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'sha256 must be 64 lowercase hex digits'),
  bytes: z.number().int().nonnegative(),
});

const codingSchema = z.object({ system: z.string().min(1), code: z.string().min(1), display: z.string().min(1) });
const fileNameSchema = z.string().regex(/^[A-Za-z0-9._-]+$/, 'file names must be plain names inside the package');
const kernelSchema = z.enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']);

export const modelManifestV1Schema = z
  .object({
    schemaVersion: z.literal(1),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    version: z.string().regex(semver, 'version must be semver'),
    name: z.string().optional(),
    files: z.record(z.string().regex(/^[A-Za-z0-9._-]+$/, 'file names must be plain names inside the package'), fileEntrySchema),
    input: tensorSpecSchema.extend({
      file: z.string(),
      size: z.number().int().positive(),
      channels: z.literal(1),
      photometric: z.string().min(1),
      resize: z.object({
        method: z.literal('letterbox'),
        kernel: z.enum(['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3']),
        align: z.literal('center'),
        padValue: z.literal(0),
        description: z.string().optional(),
      }),
      normalisation: z.object({
        method: z.literal('zscore-content'),
        scale: z.literal(65535),
        epsilon: z.number().positive(),
        description: z.string().optional(),
      }),
    }),
    outputs: z.array(tensorSpecSchema.extend({ file: z.string(), meaning: z.string() })).min(1),
    labels: z.array(z.object({ code: z.string().min(1), display: z.string().min(1), coding: codingSchema.nullable() })).min(1),
    thresholds: z.object({ method: z.string().min(1), values: z.record(z.string(), z.number().min(0).max(1)) }),
    decoder: z.object({
      file: z.string(),
      inputs: z.array(tensorSpecSchema),
      outputs: z.array(tensorSpecSchema),
      hiddenSize: z.number().int().positive(),
      initialHidden: z.literal('zeros'),
      vocabulary: z.array(z.string()).min(5),
      specialTokens: z.object({ pad: z.string(), bos: z.string(), eos: z.string(), sep: z.string(), unk: z.string() }),
      maxLength: z.number().int().positive().max(1024),
      decoding: z.object({ method: z.literal('greedy') }).loose(),
    }),
    intendedUse: z.string().min(1),
    /** What the model was built for (DEFAULT_MODEL_SCOPE when absent): read by ingest and the worker. */
    scope: modelScopeSchema.optional(),
    /** The out-of-distribution detector every image is scored with before it is read (docs/model-package.md). */
    ood: oodSpecSchema.optional(),
    /** Positive rates and score histograms on the validation set (`npm run model:validation-stats`): the live monitoring's reference. */
    validation: modelValidationSchema.optional(),
    modelCard: z.record(z.string(), z.unknown()),
  })
  .superRefine((m, ctx) => {
    const issue = (message: string, path: (string | number)[]): void => ctx.addIssue({ code: 'custom', message, path });
    for (const [path, file] of [
      [['input', 'file'], m.input.file],
      [['decoder', 'file'], m.decoder.file],
      ...(m.ood ? [[['ood', 'file'], m.ood.file] as const] : []),
      ...m.outputs.map((o, i) => [['outputs', i, 'file'], o.file] as const),
    ] as [(string | number)[], string][]) {
      if (!(file in m.files)) issue(`${file} is not listed in files`, path);
    }
    for (const l of m.labels) if (!(l.code in m.thresholds.values)) issue(`no threshold for label ${l.code}`, ['thresholds', 'values']);
    for (const name of ['logits', 'heatmaps', 'conditioning'])
      if (!m.outputs.some((o) => o.name === name && o.file === m.input.file)) issue(`the vision graph must declare an output named ${name}`, ['outputs']);
    for (const t of Object.values(m.decoder.specialTokens)) if (!m.decoder.vocabulary.includes(t)) issue(`special token ${t} is not in the vocabulary`, ['decoder', 'specialTokens']);
    for (const name of ['token', 'hidden', 'conditioning'])
      if (!m.decoder.inputs.some((i) => i.name === name)) issue(`the decoder must declare an input named ${name}`, ['decoder', 'inputs']);
    for (const name of ['logits', 'hidden_out'])
      if (!m.decoder.outputs.some((o) => o.name === name)) issue(`the decoder must declare an output named ${name}`, ['decoder', 'outputs']);
    if (m.ood) {
      const out = m.outputs.find((o) => o.name === m.ood!.output && o.file === m.input.file);
      if (!out) issue(`ood.output '${m.ood.output}' is not an output of the vision graph`, ['ood', 'output']);
      else if (typeof out.shape[1] === 'number' && m.ood.features.start + m.ood.features.length > out.shape[1])
        issue(`ood.features run past the ${out.shape[1]} values of '${m.ood.output}'`, ['ood', 'features']);
    }
    if (m.validation) {
      for (const code of Object.keys(m.validation.findings)) if (!m.labels.some((l) => l.code === code)) issue(`validation names ${code}, which is not a label`, ['validation', 'findings']);
    }
    const logits = m.outputs.find((o) => o.name === 'logits');
    if (logits && logits.shape[1] !== m.labels.length) issue(`logits has ${String(logits.shape[1])} classes but there are ${m.labels.length} labels`, ['outputs']);
  });

export type ModelManifestV1 = z.infer<typeof modelManifestV1Schema>;

// ---------------------------------------------------------------------------------------------
// Format v2

const resizeV2Schema = z.discriminatedUnion('method', [
  /** Scale to fit size×size keeping the aspect ratio, centre, pad with `padValue` (raw grey16). */
  z.object({ method: z.literal('letterbox'), kernel: kernelSchema.default('linear'), padValue: z.number().int().min(0).max(65535).default(0), description: z.string().optional() }),
  /** Scale so the short side is `size` keeping the aspect ratio, keep the centred size×size window. */
  z.object({ method: z.literal('center-crop'), kernel: kernelSchema.default('linear'), description: z.string().optional() }),
  /** Scale each axis to `size` independently (the aspect ratio is not kept). */
  z.object({ method: z.literal('stretch'), kernel: kernelSchema.default('linear'), description: z.string().optional() }),
]);

const normalisationV2Schema = z.discriminatedUnion('method', [
  /** v = raw/65535; x = (v - mean) / max(std, epsilon), mean and std over the content only (padding excluded). Same value in every channel. */
  z.object({ method: z.literal('zscore-content'), epsilon: z.number().positive().default(0.001), description: z.string().optional() }),
  /** v = raw/65535; x = to[0] + (v - from[0]) * (to[1] - to[0]) / (from[1] - from[0]). Same value in every channel. */
  z.object({
    method: z.literal('linear-range'),
    from: z.tuple([z.number(), z.number()]).refine(([a, b]) => a !== b, 'from must be a range of non-zero width'),
    to: z.tuple([z.number(), z.number()]),
    description: z.string().optional(),
  }),
  /** v = raw/65535; x[c] = (v - mean[c]) / std[c] (e.g. ImageNet's), one entry per input channel. */
  z.object({ method: z.literal('mean-std'), mean: z.array(z.number()).min(1).max(3), std: z.array(z.number().positive()).min(1).max(3), description: z.string().optional() }),
]);

const heatmapsV2Schema = z.discriminatedUnion('method', [
  /** The graph outputs the maps: `output` is [N, labels, h, w], values 0..1, over the whole size×size input. */
  z.object({ method: z.literal('graph'), output: z.string().min(1) }),
  /**
   * Class activation maps computed by the worker: `featureMap` is a graph output [N, C, h, w] (the
   * last feature map before global average pooling, after its activation); `weights` is a package
   * file with the classifier's weight [labels × C] and bias [labels]. Map_k = sigmoid(Σ_c W[k,c]·F[c] + b[k]).
   */
  z.object({
    method: z.literal('cam'),
    featureMap: z.string().min(1),
    weights: fileNameSchema,
    /** `json`: {"weight": number[labels][C], "bias": number[labels]}; `float32-le`: weight row-major then bias, little-endian. */
    weightsFormat: z.enum(['json', 'float32-le']),
    channels: z.number().int().positive(),
  }),
]);

const gruTextSchema = z.object({
  decoder: z.literal('gru'),
  /** The vision output fed to the decoder as `conditioning`. */
  conditioning: z.string().min(1).default('conditioning'),
  file: fileNameSchema,
  inputs: z.array(tensorSpecSchema),
  outputs: z.array(tensorSpecSchema),
  hiddenSize: z.number().int().positive(),
  initialHidden: z.literal('zeros'),
  vocabulary: z.array(z.string()).min(5),
  specialTokens: z.object({ pad: z.string(), bos: z.string(), eos: z.string(), sep: z.string(), unk: z.string() }),
  maxLength: z.number().int().positive().max(1024),
  decoding: z.object({ method: z.literal('greedy') }).loose(),
});

/** The Hugging Face (Optimum / transformers.js) encoder-decoder export layout (hf-text.ts). */
const hfEncoderDecoderTextSchema = z.object({
  decoder: z.literal('hf-encoder-decoder'),
  /**
   * e.g. encoder_model.onnx: pixel_values → last_hidden_state. When it is the input graph itself
   * (`input.file`), its `encoderOutput` comes from the same run as the scores; otherwise it is run on
   * the same preprocessed image tensor.
   */
  encoderFile: fileNameSchema,
  /** The encoder's output fed to the decoder as encoder_hidden_states. */
  encoderOutput: z.string().min(1).default('last_hidden_state'),
  /**
   * e.g. decoder_model_merged.onnx: input_ids, encoder_hidden_states, past_key_values.* → logits,
   * present.*; with `decoderWithPastFile`, Optimum's decoder_model.onnx (no past inputs), run for the
   * first step only.
   */
  decoderFile: fileNameSchema,
  /** Optimum's two-graph layout: decoder_with_past_model.onnx (input_ids, past_key_values.* → logits, present.*), run for every step after the first. */
  decoderWithPastFile: fileNameSchema.optional(),
  tokenizer: fileNameSchema,
  /** Optional tokenizer_config.json (special tokens, clean-up). */
  tokenizerConfig: fileNameSchema.optional(),
  config: fileNameSchema,
  generationConfig: fileNameSchema,
  /** Optional preprocessor_config.json (the image processor the export was made with). */
  preprocessorConfig: fileNameSchema.optional(),
  /** How the generated text splits into the findings and impression sections (e.g. "IMPRESSION:"). */
  impressionMarker: z.string().min(1).optional(),
});

/** No decoder: the worker writes templated sentences from the findings (docs/model-package.md). */
const templatedTextSchema = z.object({ decoder: z.literal('none'), style: z.literal('structured-findings').default('structured-findings') });

export const modelManifestV2Schema = z
  .object({
    formatVersion: z.literal(2),
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    version: z.string().regex(semver, 'version must be semver'),
    name: z.string().optional(),
    files: z.record(fileNameSchema, fileEntrySchema),
    input: tensorSpecSchema.extend({
      file: fileNameSchema,
      size: z.number().int().positive().max(4096),
      /** 1, or 3 with the grey image replicated in every channel (then normalised per channel). */
      channels: z.union([z.literal(1), z.literal(3)]),
      photometric: z.string().min(1),
      resize: resizeV2Schema,
      normalisation: normalisationV2Schema,
    }),
    outputs: z.array(tensorSpecSchema.extend({ file: fileNameSchema, meaning: z.string() })).min(1),
    /** The per-label scores: `output` [N, labels]; `kind: logits` gets a sigmoid, `probabilities` is used as is. */
    scores: z.object({ output: z.string().min(1), kind: z.enum(['logits', 'probabilities']) }),
    heatmaps: heatmapsV2Schema,
    /**
     * Ordered like the scores. `name`: the model's own label; `code`: our finding code (the
     * reference codes such as `pleural_effusion` where the label maps to one, else a code of the
     * model's own, shown under `display`); `coding`: SNOMED CT / RadLex where one exists.
     */
    labels: z
      .array(
        z.object({
          name: z.string().min(1),
          code: z.string().regex(/^[a-z0-9][a-z0-9_]*$/, 'codes are lower-case snake_case').max(64),
          display: z.string().min(1),
          coding: codingSchema.nullable(),
          /**
           * false: the model was not trained to read this label (e.g. a head no training image ever
           * showed): its output is not used, so the label gets no finding, heatmap or sentence. Default true.
           */
          trained: z.boolean().optional(),
        }),
      )
      .min(1),
    thresholds: z.object({ method: z.string().min(1), values: z.record(z.string(), z.number().min(0).max(1)) }),
    text: z.discriminatedUnion('decoder', [gruTextSchema, hfEncoderDecoderTextSchema, templatedTextSchema]),
    intendedUse: z.string().min(1),
    scope: modelScopeSchema.optional(),
    ood: oodSpecSchema.optional(),
    validation: modelValidationSchema.optional(),
    modelCard: z.record(z.string(), z.unknown()),
  })
  .superRefine((m, ctx) => {
    const issue = (message: string, path: (string | number)[]): void => ctx.addIssue({ code: 'custom', message, path });
    const named: [(string | number)[], string][] = [[['input', 'file'], m.input.file], ...m.outputs.map((o, i) => [['outputs', i, 'file'], o.file] as [(string | number)[], string])];
    if (m.ood) named.push([['ood', 'file'], m.ood.file]);
    if (m.heatmaps.method === 'cam') named.push([['heatmaps', 'weights'], m.heatmaps.weights]);
    if (m.text.decoder === 'gru') named.push([['text', 'file'], m.text.file]);
    if (m.text.decoder === 'hf-encoder-decoder') {
      for (const key of ['encoderFile', 'decoderFile', 'decoderWithPastFile', 'tokenizer', 'tokenizerConfig', 'config', 'generationConfig', 'preprocessorConfig'] as const) {
        const file = m.text[key];
        if (file !== undefined) named.push([['text', key], file]);
      }
    }
    for (const [path, file] of named) if (!(file in m.files)) issue(`${file} is not listed in files`, path);
    const vision = (name: string) => m.outputs.find((o) => o.name === name && o.file === m.input.file);
    if (m.input.dtype !== 'float32') issue('input.dtype must be float32', ['input', 'dtype']);
    if (m.input.shape[1] !== m.input.channels) issue(`input.shape[1] is ${String(m.input.shape[1])} but channels is ${m.input.channels}`, ['input', 'shape']);
    if (m.input.shape[2] !== m.input.size || m.input.shape[3] !== m.input.size) issue(`input.shape must be [N, ${m.input.channels}, ${m.input.size}, ${m.input.size}]`, ['input', 'shape']);
    const norm = m.input.normalisation;
    if (norm.method === 'mean-std' && (norm.mean.length !== m.input.channels || norm.std.length !== m.input.channels))
      issue(`mean-std needs ${m.input.channels} mean and std values (one per channel)`, ['input', 'normalisation']);
    const K = m.labels.length;
    if (!m.labels.some((l) => l.trained !== false)) issue('every label is marked trained: false: the model reads nothing', ['labels']);
    const codes = new Set<string>();
    for (const l of m.labels) {
      if (codes.has(l.code)) issue(`label code ${l.code} appears twice`, ['labels']);
      codes.add(l.code);
      if (!(l.code in m.thresholds.values)) issue(`no threshold for label ${l.code}`, ['thresholds', 'values']);
    }
    const scores = vision(m.scores.output);
    if (!scores) issue(`scores.output '${m.scores.output}' is not an output of the vision graph`, ['scores', 'output']);
    else if (scores.shape.length !== 2 || scores.shape[1] !== K) issue(`scores '${scores.name}' must be [N, ${K}] (one per label)`, ['outputs']);
    if (m.heatmaps.method === 'graph') {
      const h = vision(m.heatmaps.output);
      if (!h) issue(`heatmaps.output '${m.heatmaps.output}' is not an output of the vision graph`, ['heatmaps', 'output']);
      else if (h.shape.length !== 4 || h.shape[1] !== K || typeof h.shape[2] !== 'number' || h.shape[2] !== h.shape[3]) issue(`heatmaps '${h.name}' must be [N, ${K}, g, g] with a fixed g`, ['outputs']);
    } else {
      const f = vision(m.heatmaps.featureMap);
      if (!f) issue(`heatmaps.featureMap '${m.heatmaps.featureMap}' is not an output of the vision graph`, ['heatmaps', 'featureMap']);
      else if (f.shape.length !== 4 || f.shape[1] !== m.heatmaps.channels || typeof f.shape[2] !== 'number' || f.shape[2] !== f.shape[3])
        issue(`featureMap '${f.name}' must be [N, ${m.heatmaps.channels}, g, g] with a fixed g`, ['outputs']);
    }
    if (m.text.decoder === 'gru') {
      const t = m.text;
      if (!vision(t.conditioning)) issue(`text.conditioning '${t.conditioning}' is not an output of the vision graph`, ['text', 'conditioning']);
      for (const tok of Object.values(t.specialTokens)) if (!t.vocabulary.includes(tok)) issue(`special token ${tok} is not in the vocabulary`, ['text', 'specialTokens']);
      for (const name of ['token', 'hidden', 'conditioning']) if (!t.inputs.some((i) => i.name === name)) issue(`the decoder must declare an input named ${name}`, ['text', 'inputs']);
      for (const name of ['logits', 'hidden_out']) if (!t.outputs.some((o) => o.name === name)) issue(`the decoder must declare an output named ${name}`, ['text', 'outputs']);
    }
    if (m.text.decoder === 'hf-encoder-decoder' && m.text.decoderWithPastFile === m.text.decoderFile)
      issue('text.decoderWithPastFile must be another graph than decoderFile (Optimum\'s decoder_with_past_model.onnx beside decoder_model.onnx)', ['text', 'decoderWithPastFile']);
    if (m.text.decoder === 'hf-encoder-decoder' && m.text.encoderFile === m.input.file && !vision(m.text.encoderOutput))
      issue(`text.encoderOutput '${m.text.encoderOutput}' is not an output of the input graph ${m.input.file}`, ['text', 'encoderOutput']);
    if (m.ood) {
      const out = vision(m.ood.output);
      if (!out) issue(`ood.output '${m.ood.output}' is not an output of the vision graph`, ['ood', 'output']);
      else if (typeof out.shape[1] === 'number' && m.ood.features.start + m.ood.features.length > out.shape[1])
        issue(`ood.features run past the ${out.shape[1]} values of '${m.ood.output}'`, ['ood', 'features']);
    }
    if (m.validation) for (const code of Object.keys(m.validation.findings)) if (!codes.has(code)) issue(`validation names ${code}, which is not a label`, ['validation', 'findings']);
  });

export type ModelManifestV2 = z.infer<typeof modelManifestV2Schema>;

/** Either format; `schemaVersion: 1` or `formatVersion: 2` tells them apart. */
export const modelManifestSchema = z.union([modelManifestV1Schema, modelManifestV2Schema]);
export type ModelManifest = ModelManifestV1 | ModelManifestV2;

export const isManifestV2 = (m: ModelManifest): m is ModelManifestV2 => 'formatVersion' in m && m.formatVersion === 2;

/** Whether the package reads each label, in label order (v2 `trained: false` labels are not read; v1 reads all). */
export const labelsRead = (m: ModelManifest): boolean[] => m.labels.map((l) => !('trained' in l) || l.trained !== false);

/** The codes of the labels the package reads (its findings), in label order. */
export const findingCodesOf = (m: ModelManifest): string[] => m.labels.filter((_, k) => labelsRead(m)[k]).map((l) => l.code);
