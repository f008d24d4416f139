import { z } from 'zod';
import { dicomUidSchema, isoDateTimeSchema, pseudonymKeySchema, traceContextSchema } from './common.ts';
import { actorSchema } from './report.ts';

/**
 * Sending a report back to the PACS (report service → its own `pacs-export` queue → the PACS over
 * STOW-RS). One job per study and report revision: the job id is derived from both, so a double
 * click (or sign-and-click) queues once. The worker sends the report as it is when the job runs
 * (an addendum added meanwhile goes too) and says which revision it sent.
 */
export const pacsExportJobSchema = z
  .object({
    studyKey: pseudonymKeySchema,
    /** The report service holds identifiers; the PACS is where they belong. Never logged. */
    studyInstanceUid: dicomUidSchema,
    /** The report revision shown when the export was asked for. */
    revision: z.number().int().positive(),
    /** Whether an unsigned (PARTIAL/UNVERIFIED) draft may be sent; otherwise signed reports only. */
    allowDraft: z.boolean(),
    requestedBy: actorSchema,
    requestedAt: isoDateTimeSchema,
    trace: traceContextSchema.optional(),
  })
  .strict();
export type PacsExportJob = z.infer<typeof pacsExportJobSchema>;

/** `pacs-export.{studyKey}.r{revision}` (BullMQ job ids may not contain `:`). */
export function pacsExportJobId(studyKey: string, revision: number): string {
  return `pacs-export.${studyKey}.r${revision}`;
}

/** `POST /api/studies/{uid}/report/export/pacs` body (may be empty). */
export const pacsExportRequestSchema = z
  .object({
    /** Send an unsigned draft (as a PARTIAL/UNVERIFIED/PRELIMINARY SR). Default false: signed reports only. */
    allowDraft: z.boolean().default(false),
  })
  .strict();
export type PacsExportRequest = z.infer<typeof pacsExportRequestSchema>;

/**
 * - queued: waiting for the worker;
 * - sending: being built and sent now;
 * - retrying: the PACS could not take it (down, busy, 5xx); held and sent again at `nextAttemptAt`;
 * - delivered: the PACS stored every object;
 * - failed: refused for good (4xx, failed instances) or held past the maximum hold time.
 */
export const pacsExportStateSchema = z.enum(['queued', 'sending', 'retrying', 'delivered', 'failed']);
export type PacsExportState = z.infer<typeof pacsExportStateSchema>;

/** What the PACS answered for a delivered export (no UIDs). */
export const pacsDeliverySchema = z
  .object({
    /** The report revision that was sent (may be newer than the one asked for). */
    revision: z.number().int().positive(),
    signed: z.boolean(),
    httpStatus: z.number().int(),
    /** Instances the PACS says it stored (SR, overlays, AI results). */
    stored: z.number().int().nonnegative(),
    overlays: z.number().int().nonnegative(),
    /**
     * The AI-result objects sent (TID 1500 measurement report, Parametric Maps, Segmentations),
     * when the report service is set to send them; absent in deliveries recorded before.
     */
    aiResults: z.object({ measurementReports: z.number().int().nonnegative(), parametricMaps: z.number().int().nonnegative(), segmentations: z.number().int().nonnegative(), binarySegmentations: z.number().int().nonnegative().optional() }).strict().optional(),
    /** STOW-RS warnings (Warning Reason codes, e.g. "B000: coercion of data elements"). */
    warnings: z.array(z.string().max(256)).max(100),
  })
  .strict();
export type PacsDelivery = z.infer<typeof pacsDeliverySchema>;

/** `POST .../export/pacs` answer (202). */
export const pacsExportQueuedResponseSchema = z.object({ jobId: z.string(), state: pacsExportStateSchema }).strict();
export type PacsExportQueuedResponse = z.infer<typeof pacsExportQueuedResponseSchema>;

/** `GET .../export/pacs`: the latest export of the study. */
export const pacsExportStatusResponseSchema = z
  .object({
    studyInstanceUid: dicomUidSchema,
    jobId: z.string(),
    state: pacsExportStateSchema,
    requestedRevision: z.number().int().positive(),
    allowDraft: z.boolean(),
    requestedBy: actorSchema,
    requestedAt: isoDateTimeSchema,
    /** Attempts made so far. */
    attempts: z.number().int().nonnegative(),
    /** retrying: when the next attempt is due. */
    nextAttemptAt: isoDateTimeSchema.nullable(),
    /** retrying: why the last attempt did not deliver. */
    lastError: z.string().max(1024).nullable(),
    /** delivered: when, and what the PACS answered. */
    deliveredAt: isoDateTimeSchema.nullable(),
    delivery: pacsDeliverySchema.nullable(),
    /** failed: when and why. */
    failedAt: isoDateTimeSchema.nullable(),
    failureReason: z.string().max(2048).nullable(),
  })
  .strict();
export type PacsExportStatusResponse = z.infer<typeof pacsExportStatusResponseSchema>;
