import { z } from 'zod';
import { dicomUidSchema, traceContextSchema } from './common.ts';

/**
 * Internal to ingest, but it crosses a queue, so it has a schema. Jobs are deduplicated per
 * study; for STOW-RS the job is delayed by the stable age and the delay restarts with each
 * instance (BullMQ debounce), for DIMSE it runs as soon as the association ends.
 */
export const studyCompletionJobSchema = z
  .object({
    schemaVersion: z.literal(1),
    studyInstanceUid: dicomUidSchema,
    trigger: z.enum(['association-end', 'stable-age', 'reindex']),
    /** The trace of the association or request that scheduled it (the first one, when rescheduled). */
    trace: traceContextSchema.optional(),
  })
  .strict();
export type StudyCompletionJob = z.infer<typeof studyCompletionJobSchema>;
