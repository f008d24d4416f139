import { describe, expect, test } from 'vitest';
import { FhirFinalReportError, readFhirDiagnosticReport } from './fhir-final-report.ts';

const UID = '1.2.826.0.1.3680043.8.498.777';
const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

function report(overrides: Record<string, unknown> = {}) {
  return {
    resourceType: 'DiagnosticReport',
    id: 'dr-1',
    status: 'final',
    code: { text: 'XR Chest' },
    imagingStudy: [{ identifier: { system: 'urn:dicom:uid', value: `urn:oid:${UID}` } }],
    basedOn: [{ identifier: { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'ACSN' }] }, value: 'ACC9' } }],
    presentedForm: [{ contentType: 'text/plain; charset=utf-8', data: b64('FINDINGS:\nNo pleural effusion.') }],
    conclusion: 'Normal chest radiograph.',
    issued: '2026-12-04T10:00:00+01:00',
    ...overrides,
  };
}

describe('reading a FHIR DiagnosticReport', () => {
  test('takes the study from imagingStudy, the accession from basedOn and the text from presentedForm, adding the conclusion as the impression', () => {
    expect(readFhirDiagnosticReport(report())).toEqual({
      source: 'fhir',
      sourceId: 'dr-1',
      studyInstanceUid: UID,
      accessionNumber: 'ACC9',
      text: 'FINDINGS:\nNo pleural effusion.\n\nIMPRESSION:\nNormal chest radiograph.',
      reportedAt: '2026-12-04T09:00:00.000Z',
    });
  });

  test('uses the conclusion alone when there is no text/plain presented form', () => {
    expect(readFhirDiagnosticReport(report({ presentedForm: [{ contentType: 'application/pdf', data: b64('%PDF') }] })).text).toBe('Normal chest radiograph.');
  });

  test('takes the study from the URL when the resource does not name one', () => {
    expect(readFhirDiagnosticReport(report({ imagingStudy: undefined, basedOn: undefined }), { studyInstanceUid: UID }).studyInstanceUid).toBe(UID);
  });

  test.each([
    ['another resource type', { resourceType: 'Observation' }, /not a FHIR DiagnosticReport/],
    ['a preliminary report', { status: 'preliminary' }, /not final/],
    ['no study', { imagingStudy: [], basedOn: [] }, /no study named/],
    ['a malformed study UID', { imagingStudy: [{ identifier: { system: 'urn:dicom:uid', value: 'urn:oid:1.2.x' } }] }, /not a valid DICOM UID/],
    ['no text', { presentedForm: [], conclusion: undefined }, /no report text/],
    ['data that is not base64', { presentedForm: [{ contentType: 'text/plain', data: '!!!' }] }, /not base64/],
    ['a status of the wrong type', { status: 42 }, /status/],
  ])('refuses %s', (_name, overrides, message) => {
    expect(() => readFhirDiagnosticReport(report(overrides))).toThrow(FhirFinalReportError);
    expect(() => readFhirDiagnosticReport(report(overrides))).toThrow(message);
  });

  test('refuses a resource that names another study than the URL', () => {
    expect(() => readFhirDiagnosticReport(report(), { studyInstanceUid: '1.2.3' })).toThrow(/another study/);
  });

  test.each([null, 'text', 42, []])('refuses a body that is not an object (%s)', (body) => {
    expect(() => readFhirDiagnosticReport(body)).toThrow(FhirFinalReportError);
  });
});
