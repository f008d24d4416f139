import { z } from 'zod';

/**
 * Pseudonymous keys. The worker and everything keyed by analysis never see DICOM UIDs or
 * patient identifiers: ingest derives stable keys with a keyed hash (see docs/data-layout.md).
 */
export const pseudonymKeySchema = z
  .string()
  .regex(/^[a-z0-9]{16,64}$/, 'expected a lower-case alphanumeric pseudonymous key');

/** A DICOM UID (PS3.5 9.1): at most 64 characters, numeric components without leading zeros. */
export const dicomUidSchema = z
  .string()
  .max(64)
  .regex(/^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/, 'expected a DICOM UID');

/** Reading priority, carried from the study (DICOM "STAT"/"HIGH"/"ROUTINE") into the queue. */
export const studyPrioritySchema = z.enum(['stat', 'urgent', 'routine']);
export type StudyPriority = z.infer<typeof studyPrioritySchema>;

/** BullMQ priorities: lower number runs first. */
export const QUEUE_PRIORITY: Readonly<Record<StudyPriority, number>> = Object.freeze({
  stat: 1,
  urgent: 2,
  routine: 10,
});

/** W3C trace context, carried in job data so a trace follows a study across the queue. */
export const traceContextSchema = z
  .object({ traceparent: z.string().max(128).optional(), tracestate: z.string().max(512).optional() })
  .strict();

export const isoDateTimeSchema = z.iso.datetime({ offset: true });

export const findingCodingSchema = z
  .object({ system: z.string(), code: z.string(), display: z.string() })
  .strict();
export type FindingCoding = z.infer<typeof findingCodingSchema>;
