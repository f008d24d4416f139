import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs. Patient identifiers must never be logged: callers log pseudonymous keys only, and
 * as a second line of defence any field with an identifying DICOM name is censored.
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
    },
    destination,
  );
}
