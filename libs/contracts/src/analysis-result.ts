import { z } from 'zod';
import { indicationSchema } from './analysis-request.ts';
import { findingCodingSchema, isoDateTimeSchema, pseudonymKeySchema } from './common.ts';

export const executionProviderSchema = z.enum(['cuda', 'cpu']);

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
/** An inline heatmap PNG is ~0.5 KB; this bound (192 KB of PNG) only keeps a broken result from growing without limit. */
const MAX_INLINE_HEATMAP_BASE64 = 256 * 1024;

export const findingResultSchema = z
  .object({
    code: z.string().min(1).max(64),
    display: z.string().min(1).max(128),
    coding: findingCodingSchema.nullable(),
    probability: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    positive: z.boolean(),
    /**
     * The finding's heatmap: an 8-bit grey PNG covering the image's extent (same aspect ratio) at
     * about the model's own grid resolution (e.g. 27×32, ~0.5 KB); readers upsample it to the image
     * they draw on. Exactly one of the two fields is set:
     * - `heatmapPng`: the PNG itself, base64, inline in the result (written since the worker stopped
     *   storing one object per heatmap: the result is then the only object an analysis writes);
     * - `heatmapKey`: the PNG as its own object in the derived bucket (results written before).
     * Use `findingHeatmapPng` to read the inline form.
     */
    heatmapPng: z.string().min(1).max(MAX_INLINE_HEATMAP_BASE64).regex(BASE64, 'heatmapPng must be base64').optional(),
    heatmapKey: z.string().min(1).max(512).optional(),
    /** Heatmap maximum, normalised 0..1 in image coordinates. */
    peak: z.object({ x: z.number().min(0).max(1), y: z.number().min(0).max(1) }).strict(),
  })
  .strict()
  .refine((f) => (f.heatmapPng === undefined) !== (f.heatmapKey === undefined), {
    message: 'a finding has exactly one of heatmapPng (inline) and heatmapKey (stored apart)',
    path: ['heatmapPng'],
  });
export type FindingResult = z.infer<typeof findingResultSchema>;

/**
 * Whether the model read the image. An image outside the model's scope (its pixels unlike the
 * training distribution, or blank, saturated, far too small, inverted) is not analysed for
 * findings: its `findings` are empty and its text is empty. `score`/`limit`: the
 * out-of-distribution score and the package's threshold, when one was computed.
 */
export const imageScopeCheckSchema = z.enum(['out-of-distribution', 'blank', 'saturated', 'too-small', 'polarity']);
export type ImageScopeCheck = z.infer<typeof imageScopeCheckSchema>;
export const imageScopeSchema = z.discriminatedUnion('inScope', [
  z.object({ inScope: z.literal(true), score: z.number().nullable(), limit: z.number().nullable() }).strict(),
  z
    .object({
      inScope: z.literal(false),
      check: imageScopeCheckSchema,
      /** One sentence a radiologist understands. */
      reason: z.string().min(1).max(512),
      score: z.number().nullable(),
      limit: z.number().nullable(),
    })
    .strict(),
]);
export type ImageScope = z.infer<typeof imageScopeSchema>;

export const imageResultSchema = z
  .object({
    instanceKey: pseudonymKeySchema,
    imageKey: z.string(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    findings: z.array(findingResultSchema),
    /**
     * Physical size of a pixel of this image (mm; PixelSpacing, else ImagerPixelSpacing), from the
     * analysis request when ingest knew it. Lets the report state a measured size; results without
     * it get no sizes in millimetres.
     */
    pixelSpacingMm: z.number().positive().max(10).optional(),
    text: z
      .object({
        findings: z.string().max(8192),
        impression: z.string().max(4096),
        /**
         * False when decoding stopped at the decoder's maxLength without its stop token: the text
         * is cut off somewhere and is not used. Absent in results written before the flag existed.
         */
        complete: z.boolean().optional(),
      })
      .strict(),
    /** Absent in results written before scope checks: those images were read. */
    scope: imageScopeSchema.optional(),
  })
  .strict()
  .refine((image) => image.scope?.inScope !== false || image.findings.length === 0, {
    message: 'an image outside the model scope has no findings',
    path: ['findings'],
  });
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
    /** The request's clinical question, passed on unchanged (absent when the request had none). */
    indication: indicationSchema.optional(),
  })
  .strict();
export type AnalysisResult = z.infer<typeof analysisResultSchema>;

/**
 * The PNG bytes of a finding's inline heatmap (`heatmapPng`), or null when the result predates
 * inline heatmaps and names a stored object instead (`heatmapKey`: read it from the derived bucket).
 */
/** The image was read by the model (results before scope checks: always). */
export function imageInScope(image: Pick<ImageResult, 'scope'>): boolean {
  return image.scope?.inScope !== false;
}

/**
 * The sentence shown for an out-of-scope image, e.g. "The AI model was not built for this image:
 * it is unlike the chest radiographs it was trained on (score 41.2, limit 12.0)".
 */
export function outOfScopeSentence(scope: Extract<ImageScope, { inScope: false }>): string {
  return `The AI model was not built for this image: ${scope.reason.charAt(0).toLowerCase()}${scope.reason.slice(1).replace(/\.$/, '')}`;
}

export function findingHeatmapPng(finding: Pick<FindingResult, 'heatmapPng'>): Buffer | null {
  return finding.heatmapPng === undefined ? null : Buffer.from(finding.heatmapPng, 'base64');
}
