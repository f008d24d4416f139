// The model package manifest (models/<id>/manifest.json), documented in docs/model-package.md.
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

export const modelManifestSchema = z
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

export type ModelManifest = z.infer<typeof modelManifestSchema>;
