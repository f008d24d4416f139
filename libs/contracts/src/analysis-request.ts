import { z } from 'zod';
import { pseudonymKeySchema, studyPrioritySchema, traceContextSchema, isoDateTimeSchema } from './common.ts';

/** One image handed to analysis: a de-identified presentation image in the derived bucket. */
export const analysisImageSchema = z
  .object({
    instanceKey: pseudonymKeySchema,
    /** 16-bit grey PNG in the derived bucket: grey-scale pipeline applied, bright = dense. */
    imageKey: z.string().min(1).max(512),
    /**
     * The same image, small and uncompressed (`analysis-input.ts`: grey16, long side ≤ ingest's `INGEST_ANALYSIS_INPUT_SIZE`), in the
     * derived bucket. The worker reads it instead of `imageKey` when present; jobs queued before it
     * existed have only `imageKey`. `width`/`height` stay the presentation image's size.
     */
    analysisInputKey: z.string().min(1).max(512).optional(),
    /**
     * The instance's metadata as analysis may see it: DICOM JSON de-identified with the PS3.15
     * Basic Application Confidentiality Profile (method recorded inside), in the derived bucket.
     */
    metadataKey: z.string().min(1).max(512).optional(),
    width: z.number().int().positive().max(16384),
    height: z.number().int().positive().max(16384),
    pixelSpacingMm: z.number().positive().max(10).optional(),
    viewPosition: z.string().max(16).optional(),
  })
  .strict();
export type AnalysisImage = z.infer<typeof analysisImageSchema>;

/** Longest indication carried (characters): an order's reason is a line or two; this only bounds a broken one. */
export const MAX_INDICATION_LENGTH = 2000;
/** The clinical question of a study, de-identified free text (see `analysisRequestSchema.indication`). */
export const indicationSchema = z.string().trim().min(1).max(MAX_INDICATION_LENGTH);

/** ingest → inference-worker. The job id is `analysisId`, so each study version is queued once. */
export const analysisRequestSchema = z
  .object({
    schemaVersion: z.literal(1),
    analysisId: z.string().regex(/^[a-z0-9]+\.v[0-9]+$/),
    studyKey: pseudonymKeySchema,
    version: z.number().int().positive(),
    priority: studyPrioritySchema,
    images: z.array(analysisImageSchema).min(1).max(16),
    requestedAt: isoDateTimeSchema,
    /**
     * When ingest held this version of the study complete: the last of its instances stored and
     * acknowledged (just before the DIMSE release or the STOW-RS response). Start of the
     * end-to-end latency the report service measures; passed on in `analysis-completed`.
     */
    studyCompletedAt: isoDateTimeSchema.optional(),
    trace: traceContextSchema.optional(),
    /**
     * The clinical question from the order (Reason for the Requested Procedure, Additional Patient
     * History, ...: see ingest's `studies/study-indication.ts`), scrubbed of names, dates and identifiers
     * in ingest. Absent when the images carry none. Passed on in the result to the report's INDICATION.
     */
    indication: indicationSchema.optional(),
  })
  .strict();
export type AnalysisRequest = z.infer<typeof analysisRequestSchema>;

export function analysisIdOf(studyKey: string, version: number): string {
  return `${studyKey}.v${version}`;
}
