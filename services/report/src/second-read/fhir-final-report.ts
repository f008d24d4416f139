import { z } from 'zod';
import { accessionNumberSchema, dicomUidSchema, FINAL_REPORT_MAX_CHARS, type FinalReportSubmission } from '@cxr/contracts';

/**
 * A final report sent as a FHIR R4 DiagnosticReport (`POST /fhir/DiagnosticReport`, or
 * `application/fhir+json` to `/api/studies/{uid}/final-report`), read into a submission.
 *
 * - status must be final, amended, corrected or appended (a preliminary report is not compared);
 * - the study: `imagingStudy[].identifier` of system `urn:dicom:uid` (`urn:oid:` + the Study
 *   Instance UID, as our own export writes it), and/or the accession number: an identifier of type
 *   ACSN (v2-0203) in `basedOn[].identifier` or `identifier[]`;
 * - the text: `presentedForm[]` of content type text/plain (base64 `data`), else `conclusion`;
 *   a conclusion beside a presented form that lacks an impression is added as its IMPRESSION.
 * Only the fields read are checked; the rest of the resource is not validated here.
 */

export class FhirFinalReportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FhirFinalReportError';
  }
}

const identifierSchema = z
  .object({
    system: z.string().max(2000).optional(),
    value: z.string().max(2000).optional(),
    type: z.object({ coding: z.array(z.object({ system: z.string().max(2000).optional(), code: z.string().max(200).optional() }).loose()).max(50).optional() }).loose().optional(),
  })
  .loose();
type Identifier = z.infer<typeof identifierSchema>;

const diagnosticReportSchema = z
  .object({
    resourceType: z.literal('DiagnosticReport'),
    id: z.string().max(64).optional(),
    status: z.string().max(32),
    identifier: z.array(identifierSchema).max(50).optional(),
    basedOn: z.array(z.object({ identifier: identifierSchema.optional() }).loose()).max(50).optional(),
    imagingStudy: z.array(z.object({ identifier: identifierSchema.optional(), reference: z.string().max(2000).optional() }).loose()).max(50).optional(),
    conclusion: z.string().max(FINAL_REPORT_MAX_CHARS).optional(),
    presentedForm: z
      .array(z.object({ contentType: z.string().max(200).optional(), data: z.string().max(Math.ceil((FINAL_REPORT_MAX_CHARS * 4 * 4) / 3) + 4).optional() }).loose())
      .max(20)
      .optional(),
    issued: z.string().max(64).optional(),
  })
  .loose();

const FINAL = new Set(['final', 'amended', 'corrected', 'appended']);
const V2_0203 = 'http://terminology.hl7.org/CodeSystem/v2-0203';

export function readFhirDiagnosticReport(body: unknown, options: { studyInstanceUid?: string } = {}): FinalReportSubmission {
  const parsed = diagnosticReportSchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new FhirFinalReportError(`not a FHIR DiagnosticReport: ${issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'invalid'}`);
  }
  const report = parsed.data;
  if (!FINAL.has(report.status)) throw new FhirFinalReportError(`status "${report.status}" is not final (final, amended, corrected, appended): only final reports are compared`);

  const studyInstanceUid = studyUidOf(report.imagingStudy ?? []);
  if (options.studyInstanceUid && studyInstanceUid && options.studyInstanceUid !== studyInstanceUid) {
    throw new FhirFinalReportError('the DiagnosticReport names another study (imagingStudy) than the URL');
  }
  const uid = options.studyInstanceUid ?? studyInstanceUid;
  const accession = accessionOf([...(report.basedOn ?? []).map((b) => b.identifier), ...(report.identifier ?? [])]);
  if (!uid && !accession) throw new FhirFinalReportError('no study named: add imagingStudy with identifier system urn:dicom:uid, or an accession number (identifier type ACSN)');

  const text = textOf(report.presentedForm ?? [], report.conclusion);
  if (text.trim() === '') throw new FhirFinalReportError('no report text: send presentedForm (text/plain) or conclusion');
  if (text.length > FINAL_REPORT_MAX_CHARS) throw new FhirFinalReportError(`the report text is longer than ${FINAL_REPORT_MAX_CHARS} characters`);
  const issued = report.issued && !Number.isNaN(Date.parse(report.issued)) ? new Date(report.issued).toISOString() : undefined;
  return {
    source: 'fhir',
    ...(report.id ? { sourceId: report.id } : {}),
    ...(uid ? { studyInstanceUid: uid } : {}),
    ...(accession ? { accessionNumber: accession } : {}),
    text,
    ...(issued ? { reportedAt: issued } : {}),
  };
}

function studyUidOf(studies: Array<{ identifier?: Identifier | undefined }>): string | undefined {
  for (const study of studies) {
    const id = study.identifier;
    if (!id?.value || (id.system !== undefined && id.system !== 'urn:dicom:uid')) continue;
    const uid = id.value.replace(/^urn:oid:/, '');
    if (!dicomUidSchema.safeParse(uid).success) throw new FhirFinalReportError('imagingStudy.identifier is not a valid DICOM UID');
    return uid;
  }
  return undefined;
}

function accessionOf(identifiers: Array<Identifier | undefined>): string | undefined {
  for (const id of identifiers) {
    const acsn = id?.type?.coding?.some((c) => c.code === 'ACSN' && (c.system === undefined || c.system === V2_0203));
    if (!acsn || !id?.value) continue;
    const parsed = accessionNumberSchema.safeParse(id.value);
    if (!parsed.success) throw new FhirFinalReportError('the accession number is not 1-64 printable characters');
    return parsed.data;
  }
  return undefined;
}

function textOf(forms: Array<{ contentType?: string | undefined; data?: string | undefined }>, conclusion: string | undefined): string {
  const plain = forms.find((f) => f.data && (f.contentType ?? '').split(';')[0]!.trim().toLowerCase() === 'text/plain');
  let text = '';
  if (plain?.data) {
    if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(plain.data)) throw new FhirFinalReportError('presentedForm.data is not base64');
    text = Buffer.from(plain.data, 'base64').toString('utf8');
    if (text.includes('\uFFFD')) throw new FhirFinalReportError('presentedForm text is not UTF-8');
  }
  const impression = conclusion?.trim();
  if (impression && !/\bIMPRESSION\b|\bCONCLUSION\b/i.test(text)) text = text === '' ? impression : `${text.trim()}\n\nIMPRESSION:\n${impression}`;
  return text.replace(/\r\n?/g, '\n').trim();
}
