import { expect, test } from 'vitest';
import { priorLookupSchema } from './prior-study.ts';

const key = 'a'.repeat(32);

test('takes a look-up with its priors and the PACS that did not answer', () => {
  const lookup = { priors: [{ studyKey: key, studyDate: '2026-11-02', source: 'local' }], unanswered: [{ source: 'main', reason: 'timed-out', detail: 'no answer within 10 s' }] };
  expect(priorLookupSchema.parse(lookup)).toEqual(lookup);
});

test.each([
  ['a Study Instance UID where the pseudonymous key goes', { studyKey: '1.2.840.113619.2.55', studyDate: '2026-11-02', source: 'local' }],
  ['a DICOM date instead of YYYY-MM-DD', { studyKey: key, studyDate: '20261102', source: 'local' }],
  ['a Patient ID or any other field', { studyKey: key, studyDate: '2026-11-02', source: 'local', patientId: 'PAT1' }],
])('refuses a prior with %s', (_, prior) => {
  expect(priorLookupSchema.safeParse({ priors: [prior], unanswered: [] }).success).toBe(false);
});
