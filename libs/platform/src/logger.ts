import { pino, type Logger } from 'pino';
import { logCorrelationFields } from './tracing.ts';

export type { Logger };

/**
 * JSON logs. Patient identifiers must never be logged: callers log pseudonymous keys only, and
 * as a second line of defence any field with an identifying DICOM name is censored.
 *
 * Each line also carries the active trace (`trace_id`, `span_id`) and, while an HTTP request is
 * handled, its `req_id` (see tracing.ts and request-context.ts), so logs and traces join up.
 */
const REDACTED_FIELDS = [
  'patientName', 'patientId', 'patientBirthDate', 'accessionNumber', 'PatientName', 'PatientID',
  'otherPatientIds', 'institutionName', 'referringPhysicianName',
];

export function createLogger(service: string, level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: [...REDACTED_FIELDS, ...REDACTED_FIELDS.map((f) => `*.${f}`)], censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
      mixin: logCorrelationFields,
    },
    destination,
  );
}
