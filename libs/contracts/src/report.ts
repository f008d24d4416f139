import { z } from 'zod';
import { dicomUidSchema, findingCodingSchema, isoDateTimeSchema, studyPrioritySchema } from './common.ts';

export const reportStatusSchema = z.enum(['pending', 'draft', 'signed', 'failed', 'not-eligible']);
export type ReportStatus = z.infer<typeof reportStatusSchema>;

export const AI_DRAFT_DISCLAIMER =
  'AI-generated draft, not reviewed or signed by a radiologist. Produced by a reference model ' +
  'trained on synthetic images only; not for clinical use.';

export const reportFindingSchema = z
  .object({
    code: z.string(),
    display: z.string(),
    coding: findingCodingSchema.nullable(),
    probability: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    positive: z.boolean(),
    sopInstanceUid: dicomUidSchema,
    /** Colour-mapped heatmap over the image, PNG, same aspect ratio as the image. */
    overlayUrl: z.string(),
    /** The raw heatmap as an 8-bit grey PNG. */
    heatmapUrl: z.string(),
    peak: z.object({ x: z.number(), y: z.number() }).strict(),
  })
  .strict();
export type ReportFinding = z.infer<typeof reportFindingSchema>;

/** report → viewer: `GET /api/studies/{StudyInstanceUID}/report`. */
export const reportResponseSchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    status: reportStatusSchema,
    statusReason: z.string().nullable(),
    aiGenerated: z.literal(true),
    signed: z.boolean(),
    disclaimer: z.string(),
    priority: studyPrioritySchema,
    analysisVersion: z.number().int().nonnegative(),
    revision: z.number().int().nonnegative(),
    model: z.object({ id: z.string(), version: z.string(), sha256: z.string() }).strict().nullable(),
    text: z.string(),
    sections: z.object({ findings: z.string(), impression: z.string() }).strict(),
    findings: z.array(reportFindingSchema),
    updatedAt: isoDateTimeSchema,
  })
  .strict();
export type ReportResponse = z.infer<typeof reportResponseSchema>;

/** Error body of every HTTP API in the system. */
export const apiErrorSchema = z
  .object({ error: z.object({ code: z.string(), message: z.string() }).strict() })
  .strict();
export type ApiError = z.infer<typeof apiErrorSchema>;
