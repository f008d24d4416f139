import { z } from 'zod';
import { findingCodingSchema, isoDateTimeSchema, pseudonymKeySchema } from './common.ts';

export const executionProviderSchema = z.enum(['cuda', 'cpu']);

export const findingResultSchema = z
  .object({
    code: z.string().min(1).max(64),
    display: z.string().min(1).max(128),
    coding: findingCodingSchema.nullable(),
    probability: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    positive: z.boolean(),
    /**
     * 8-bit grey PNG in the derived bucket, covering the image's extent (same aspect ratio) at about
     * the model's own grid resolution (e.g. 27×32): readers upsample it to the image they draw on.
     */
    heatmapKey: z.string().min(1).max(512),
    /** Heatmap maximum, normalised 0..1 in image coordinates. */
    peak: z.object({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) }).strict(),
  })
  .strict();
export type FindingResult = z.infer<typeof findingResultSchema>;

export const imageResultSchema = z
  .object({
    instanceKey: pseudonymKeySchema,
    imageKey: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    findings: z.array(findingResultSchema),
    text: z.object({ findings: z.string().max(8192), impression: z.string().max(4096) }).strict(),
  })
  .strict();
export type ImageResult = z.infer<typeof imageResultSchema>;

/** inference-worker → report, stored as JSON in the derived bucket (`resultKey`). */
export const analysisResultSchema = z
  .object({
    schemaVersion: z.literal(1),
    analysisId: z.string(),
    studyKey: pseudonymKeySchema,
    version: z.number().int().positive(),
    model: z
      .object({
        id: z.string(),
        version: z.string(),
        sha256: z.string().regex(/^[0-9a-f]{64}$/),
        executionProvider: executionProviderSchema,
      })
      .strict(),
    images: z.array(imageResultSchema).min(1),
    timingsMs: z.record(z.string(), z.number().nonnegative()),
    completedAt: isoDateTimeSchema,
  })
  .strict();
export type AnalysisResult = z.infer<typeof analysisResultSchema>;
