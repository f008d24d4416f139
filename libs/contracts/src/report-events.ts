import { z } from 'zod';
import { dicomUidSchema, isoDateTimeSchema, pseudonymKeySchema, studyPrioritySchema, traceContextSchema } from './common.ts';
import { priorLookupSchema } from './prior-study.ts';

/** ingest → report: a study version is complete; says whether it will be analysed and why not. */
export const studyReceivedEventSchema = z
  .object({
    type: z.literal('study-received'),
    studyKey: pseudonymKeySchema,
    version: z.number().int().positive(),
    /** The report service holds identifiers: it serves the radiologist and exports to the PACS. */
    studyInstanceUid: dicomUidSchema,
    priority: studyPrioritySchema,
    /**
     * SHA-256 of the study's Accession Number (0008,0050) when its instances carry one (`accessionKeyOf`
     * in @cxr/platform): the second read finds a final report's study by it. Never the number itself.
     */
    accessionKey: z.string().regex(/^[a-f0-9]{64}$/).optional(),
    instanceCount: z.number().int().nonnegative(),
    eligible: z.boolean(),
    /** Why images were not analysed (one line per instance or rule). */
    ineligibleReasons: z.array(z.string().max(512)).max(1000),
    images: z
      .array(
        z
          .object({
            instanceKey: pseudonymKeySchema,
            sopInstanceUid: dicomUidSchema,
            previewKey: z.string(),
            width: z.number().int().positive(),
            height: z.number().int().positive(),
          })
          .strict(),
      )
      .max(1000),
    receivedAt: isoDateTimeSchema,
    /** The prior-study look-up for this study; absent when ingest did not look (a retrieved prior itself, or before priors existed). */
    priors: priorLookupSchema.optional(),
    /**
     * 'prior': ingest fetched this study from a PACS only as an earlier study of another one's patient,
     * for the comparison. It is analysed (the comparison reads its findings) but is nobody's work: the
     * report service keeps it off the worklist. Absent: a study sent to us to be read.
     */
    role: z.literal('prior').optional(),
    trace: traceContextSchema.optional(),
  })
  .strict();

/** inference-worker → report. */
export const analysisCompletedEventSchema = z
  .object({
    type: z.literal('analysis-completed'),
    studyKey: pseudonymKeySchema,
    version: z.number().int().positive(),
    analysisId: z.string(),
    resultKey: z.string(),
    completedAt: isoDateTimeSchema,
    /** From the analysis request: when ingest held the study complete (end-to-end latency start). */
    studyCompletedAt: isoDateTimeSchema.optional(),
    trace: traceContextSchema.optional(),
  })
  .strict();

/** inference-worker → report: a permanent failure (transient ones are retried, not reported). */
export const analysisFailedEventSchema = z
  .object({
    type: z.literal('analysis-failed'),
    studyKey: pseudonymKeySchema,
    version: z.number().int().positive(),
    analysisId: z.string(),
    reason: z.string().max(1024),
    failedAt: isoDateTimeSchema,
    trace: traceContextSchema.optional(),
  })
  .strict();

/**
 * inference-worker → report: a shadow model version (WORKER_SHADOW_MODEL) analysed the same study
 * version beside the active one. Its result (`resultKey`, `objectKeys.shadowResult`) is only
 * compared with the active one (`activeResultKey`) for model monitoring: never a draft.
 */
export const shadowAnalysisCompletedEventSchema = z
  .object({
    type: z.literal('shadow-analysis-completed'),
    studyKey: pseudonymKeySchema,
    version: z.number().int().positive(),
    analysisId: z.string(),
    /** The shadow version, `id@version`. */
    model: z.string().regex(/^[a-z0-9][a-z0-9-]*@[0-9A-Za-z.+-]{1,64}$/),
    resultKey: z.string().min(1).max(512),
    activeResultKey: z.string().min(1).max(512),
    completedAt: isoDateTimeSchema,
    trace: traceContextSchema.optional(),
  })
  .strict();

export const reportEventSchema = z.discriminatedUnion('type', [
  studyReceivedEventSchema,
  analysisCompletedEventSchema,
  analysisFailedEventSchema,
  shadowAnalysisCompletedEventSchema,
]);
export type ShadowAnalysisCompletedEvent = z.infer<typeof shadowAnalysisCompletedEventSchema>;
export type StudyReceivedEvent = z.infer<typeof studyReceivedEventSchema>;
export type AnalysisCompletedEvent = z.infer<typeof analysisCompletedEventSchema>;
export type AnalysisFailedEvent = z.infer<typeof analysisFailedEventSchema>;
export type ReportEvent = z.infer<typeof reportEventSchema>;

/** Job ids make each event idempotent to enqueue (a retried producer adds it once). */
export function reportEventJobId(event: ReportEvent): string {
  if (event.type === 'shadow-analysis-completed') return `${event.type}.${event.studyKey}.v${event.version}.${event.model}`;
  return `${event.type}.${event.studyKey}.v${event.version}`;
}
