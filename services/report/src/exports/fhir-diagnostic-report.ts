/**
 * A report as a FHIR R4 DiagnosticReport for the hospital's systems (EHR, RIS): self-contained,
 * with the patient, the AI device, the signer and one Observation per finding as contained
 * resources, and the study referenced by its Study Instance UID.
 *
 * Choices, and why:
 * - R4 allows only Practitioner/PractitionerRole/Organization/CareTeam as `performer` and
 *   `resultsInterpreter`, so the AI model (a Device) is not the performer: it is the `device` of
 *   each Observation and the author agent of a contained Provenance that targets the report. A
 *   signed report names its signer as `resultsInterpreter` (and as the Provenance's verifier).
 * - Status: `preliminary` while unsigned, `final` once signed, `appended` when addenda follow.
 * - The AI origin is explicit three ways: the `AIAST` ("artificial intelligence asserted")
 *   security label of HL7's ObservationValue code system on the report and each Observation, an
 *   extension carrying the disclaimer, and the disclaimer in the text itself.
 * - An Observation's value is whether the finding is present in the report: the model's call,
 *   or its opposite when the radiologist rejected it. The model's probability and operating
 *   threshold are components; `interpretation` says what the radiologist decided.
 * - The clinical question (the draft's INDICATION) is the reason of the order the report is based
 *   on: R4's DiagnosticReport has no reason of its own, so it is `reasonCode.text` of a contained
 *   ServiceRequest (status `unknown`: the order's state is the RIS's) that `basedOn` references,
 *   with the accession number as its identifier. Without an indication, `basedOn` is a logical
 *   reference by accession number alone.
 * - Identifiers (patient ID, name, birth date, accession number) are in the body: this output is
 *   for the hospital. Nothing here logs.
 */
import type {
  CodeableConcept,
  Coding,
  Device,
  DiagnosticReport,
  Extension,
  HumanName,
  Identifier,
  Observation,
  ObservationComponent,
  Patient,
  Practitioner,
  Provenance,
  Reference,
  ServiceRequest,
} from 'fhir/r4.js';
import { AI_DRAFT_DISCLAIMER, type ReportFinding, type ReportResponse } from '@cxr/contracts';
import { findingSiteText, isExportable, isPresentInReport, NothingToExportError, outOfScopeStatement } from './report-content.ts';
import type { SourceStudy } from './source-study.ts';

export const FhirSystem = Object.freeze({
  loinc: 'http://loinc.org',
  snomed: 'http://snomed.info/sct',
  ucum: 'http://unitsofmeasure.org',
  dicomDcm: 'http://dicom.nema.org/resources/ontology/DCM',
  dicomUid: 'urn:dicom:uid',
  diagnosticServiceSection: 'http://terminology.hl7.org/CodeSystem/v2-0074',
  identifierType: 'http://terminology.hl7.org/CodeSystem/v2-0203',
  observationInterpretation: 'http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation',
  observationValue: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  observationCategory: 'http://terminology.hl7.org/CodeSystem/observation-category',
  provenanceParticipantType: 'http://terminology.hl7.org/CodeSystem/provenance-participant-type',
  deviceNameType: 'http://hl7.org/fhir/device-nametype',
});

/**
 * This project's own FHIR URIs (extension, local code system, identifier systems). URNs rather
 * than URLs: the project publishes no FHIR conformance resources at a web address.
 */
export const CxrFhirUri = Object.freeze({
  aiDisclaimerExtension: 'urn:cxr-assist:fhir:StructureDefinition:ai-disclaimer',
  /** Images the AI model refused as outside its scope: no AI finding (Observation) comes from them. */
  aiOutOfScopeExtension: 'urn:cxr-assist:fhir:StructureDefinition:ai-out-of-scope',
  /** The model's own finding codes (and the operating threshold component). */
  findingCodeSystem: 'urn:cxr-assist:fhir:CodeSystem:finding',
  modelSha256: 'urn:cxr-assist:fhir:identifier:model-sha256',
  /** Subjects (`sub`) of the bearer tokens that signed reports. */
  tokenSubject: 'urn:cxr-assist:fhir:identifier:token-subject',
});

export const MODEL_NOTICE = 'Reference model trained on synthetic images only; not for clinical use.';

const AI_ASSERTED: Coding = { system: FhirSystem.observationValue, code: 'AIAST', display: 'Artificial Intelligence asserted' };
const PRESENT: Coding = { system: FhirSystem.snomed, code: '52101004', display: 'Present' };
const ABSENT: Coding = { system: FhirSystem.snomed, code: '272519000', display: 'Absent' };
const LUNG_SITE: Record<'right' | 'left' | 'bilateral', Coding> = {
  right: { system: FhirSystem.snomed, code: '3341006', display: 'Right lung structure' },
  left: { system: FhirSystem.snomed, code: '44029006', display: 'Left lung structure' },
  bilateral: { system: FhirSystem.snomed, code: '74101002', display: 'Both lungs' },
};

export interface FhirExportOptions {
  /** Identifier system (URI) of the hospital's patient IDs; without it the identifier has no system. */
  patientIdentifierSystem?: string;
  /** Identifier system of accession numbers (the RIS order). */
  accessionNumberSystem?: string;
  /** When the report was issued; default: signature time, else the report's last update. */
  issued?: string;
}

/** DICOM YYYYMMDD → FHIR date, or undefined when malformed. */
function fhirDate(dicomDate: string | null): string | undefined {
  const match = dicomDate ? /^(\d{4})(\d{2})(\d{2})$/.exec(dicomDate) : null;
  return match ? `${match[1]}-${match[2]}-${match[3]}` : undefined;
}

function humanName(pn: string): HumanName {
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = pn.split('=')[0]!.split('^').map((part) => part.trim());
  const name: HumanName = { text: [prefix, given, middle, family, suffix].filter(Boolean).join(' ') || pn };
  if (family) name.family = family;
  const givens = [given, middle].filter(Boolean);
  if (givens.length > 0) name.given = givens;
  if (prefix) name.prefix = [prefix];
  if (suffix) name.suffix = [suffix];
  return name;
}

const GENDER: Record<string, Patient['gender']> = { M: 'male', F: 'female', O: 'other' };

function patientResource(source: SourceStudy, options: FhirExportOptions): Patient {
  const { patient } = source;
  const resource: Patient = { resourceType: 'Patient', id: 'patient' };
  if (patient.id) {
    const identifier: Identifier = {
      use: 'usual',
      type: { coding: [{ system: FhirSystem.identifierType, code: 'MR', display: 'Medical record number' }] },
      value: patient.id,
    };
    if (options.patientIdentifierSystem) identifier.system = options.patientIdentifierSystem;
    if (patient.issuerOfId) identifier.assigner = { display: patient.issuerOfId };
    resource.identifier = [identifier];
  }
  if (patient.name) resource.name = [humanName(patient.name)];
  const birthDate = fhirDate(patient.birthDate);
  if (birthDate) resource.birthDate = birthDate;
  resource.gender = (patient.sex && GENDER[patient.sex.toUpperCase()]) || 'unknown';
  return resource;
}

function deviceResource(model: NonNullable<ReportResponse['model']>): Device {
  return {
    resourceType: 'Device',
    id: 'ai-model',
    identifier: [{ system: CxrFhirUri.modelSha256, value: model.sha256 }],
    status: 'active',
    manufacturer: 'cxr-assist (open source)',
    deviceName: [{ name: model.id, type: 'model-name' }],
    type: { text: 'AI software for chest radiograph analysis' },
    version: [{ value: model.version }],
    note: [{ text: MODEL_NOTICE }],
  };
}

function practitionerResource(signature: NonNullable<ReportResponse['signature']>): Practitioner {
  return {
    resourceType: 'Practitioner',
    id: 'signer',
    identifier: [{ system: CxrFhirUri.tokenSubject, value: signature.signedBy.sub }],
    name: [{ text: signature.signedBy.name || signature.signedBy.sub }],
  };
}

export function studyReference(studyInstanceUid: string): Reference {
  return { type: 'ImagingStudy', identifier: { system: FhirSystem.dicomUid, value: `urn:oid:${studyInstanceUid}` } };
}

/** Chest X-ray report codes (LOINC): single view or two views, plus the generic imaging report code. */
function reportCode(imageCount: number): CodeableConcept {
  const specific: Coding =
    imageCount >= 2
      ? { system: FhirSystem.loinc, code: '36643-5', display: 'XR Chest 2 Views' }
      : { system: FhirSystem.loinc, code: '36554-4', display: 'XR Chest Single view' };
  return { coding: [specific, { system: FhirSystem.loinc, code: '18748-4', display: 'Diagnostic imaging study' }], text: 'Chest X-ray report' };
}

function findingCode(finding: ReportFinding): CodeableConcept {
  const coding: Coding[] = [];
  if (finding.coding) coding.push({ system: finding.coding.system, code: finding.coding.code, display: finding.coding.display });
  coding.push({ system: CxrFhirUri.findingCodeSystem, code: finding.code, display: finding.display });
  return { coding, text: finding.display };
}

function bodySite(finding: ReportFinding): CodeableConcept | undefined {
  const text = findingSiteText(finding);
  if (!text) return undefined;
  const concept: CodeableConcept = { text };
  if (finding.side && finding.side !== 'midline') concept.coding = [LUNG_SITE[finding.side]];
  return concept;
}

function interpretation(finding: ReportFinding, present: boolean): CodeableConcept {
  const coding: Coding = present
    ? { system: FhirSystem.observationInterpretation, code: 'POS', display: 'Positive' }
    : { system: FhirSystem.observationInterpretation, code: 'NEG', display: 'Negative' };
  const text =
    finding.decision === 'accepted'
      ? 'AI finding accepted by the radiologist'
      : finding.decision === 'rejected'
        ? 'AI finding rejected by the radiologist'
        : 'AI finding not yet reviewed by a radiologist';
  return { coding: [coding], text };
}

function probabilityComponent(code: Coding, value: number): ObservationComponent {
  return {
    code: { coding: [code], text: code.display },
    valueQuantity: { value: Math.round(value * 10_000) / 10_000, unit: 'probability', system: FhirSystem.ucum, code: '1' },
  };
}

function observationResource(finding: ReportFinding, index: number, report: ReportResponse, effective: string | undefined, hasDevice: boolean): Observation {
  const present = isPresentInReport(finding);
  const observation: Observation = {
    resourceType: 'Observation',
    id: `finding-${index + 1}`,
    meta: { security: [AI_ASSERTED] },
    status: report.signed ? 'final' : 'preliminary',
    category: [{ coding: [{ system: FhirSystem.observationCategory, code: 'imaging', display: 'Imaging' }] }],
    code: findingCode(finding),
    subject: { reference: '#patient' },
    valueCodeableConcept: { coding: [present ? PRESENT : ABSENT], text: present ? 'Present' : 'Absent' },
    interpretation: [interpretation(finding, present)],
    component: [
      probabilityComponent({ system: FhirSystem.dicomDcm, code: '111012', display: 'Certainty of Finding' }, finding.probability),
      probabilityComponent({ system: CxrFhirUri.findingCodeSystem, code: 'operating-threshold', display: 'Operating threshold of the model' }, finding.threshold),
    ],
    derivedFrom: [{ ...studyReference(report.studyInstanceUid), display: `Image with SOP Instance UID ${finding.sopInstanceUid}` }],
  };
  if (effective) observation.effectiveDateTime = effective;
  const site = bodySite(finding);
  if (site) observation.bodySite = site;
  if (hasDevice) observation.device = { reference: '#ai-model' };
  if (!report.signed) observation.note = [{ text: AI_DRAFT_DISCLAIMER }];
  return observation;
}

function base64Utf8(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64');
}

/**
 * Builds the DiagnosticReport. Throws NothingToExportError for a report with no draft
 * (pending, failed, not eligible).
 */
export function toFhirDiagnosticReport(report: ReportResponse, source: SourceStudy, options: FhirExportOptions = {}): DiagnosticReport {
  if (!isExportable(report)) throw new NothingToExportError(report.status);
  const effective = fhirDate(source.study.date);
  const issued = options.issued ?? report.signature?.signedAt ?? report.updatedAt;
  const contained: DiagnosticReport['contained'] = [patientResource(source, options)];
  const device = report.model ? deviceResource(report.model) : null;
  if (device) contained.push(device);
  const signer = report.signed && report.signature ? practitionerResource(report.signature) : null;
  if (signer) contained.push(signer);
  const observations = report.findings.map((finding, i) => observationResource(finding, i, report, effective, device !== null));
  contained.push(...observations);

  const agents: Provenance['agent'] = [];
  if (device) {
    agents.push({
      type: { coding: [{ system: FhirSystem.provenanceParticipantType, code: 'author', display: 'Author' }] },
      who: { reference: '#ai-model', display: `${report.model!.id} ${report.model!.version}` },
    });
  }
  if (signer) {
    agents.push({
      type: { coding: [{ system: FhirSystem.provenanceParticipantType, code: 'verifier', display: 'Verifier' }] },
      who: { reference: '#signer', display: signer.name?.[0]?.text },
    });
  }
  if (agents.length > 0) {
    const provenance: Provenance = {
      resourceType: 'Provenance',
      id: 'provenance',
      // '#' is the containing resource: this Provenance is about the report itself.
      target: [{ reference: '#' }],
      recorded: issued,
      agent: agents,
    };
    contained.push(provenance);
  }

  const extension: Extension[] = [{ url: CxrFhirUri.aiDisclaimerExtension, valueString: report.signed ? report.disclaimer : AI_DRAFT_DISCLAIMER }];
  const outOfScope = outOfScopeStatement(report);
  if (outOfScope) extension.push({ url: CxrFhirUri.aiOutOfScopeExtension, valueString: outOfScope });
  const resource: DiagnosticReport = {
    resourceType: 'DiagnosticReport',
    meta: { security: [AI_ASSERTED] },
    contained,
    extension,
    status: report.signed ? (report.addenda.length > 0 ? 'appended' : 'final') : 'preliminary',
    category: [{ coding: [{ system: FhirSystem.diagnosticServiceSection, code: 'RAD', display: 'Radiology' }] }],
    code: reportCode(source.instances.length || report.images.length),
    subject: { reference: '#patient' },
    issued,
    imagingStudy: [studyReference(report.studyInstanceUid)],
    presentedForm: [
      {
        contentType: 'text/plain; charset=utf-8',
        language: 'en',
        data: base64Utf8(report.text),
        title: report.signed ? 'Chest X-ray report' : 'Chest X-ray report (AI-generated draft, unsigned)',
        creation: issued,
      },
    ],
  };
  if (effective) resource.effectiveDateTime = effective;
  // FHIR strings may not be empty.
  if (report.sections.impression.trim() !== '') resource.conclusion = report.sections.impression;
  let accession: Identifier | undefined;
  if (source.study.accessionNumber) {
    accession = {
      type: { coding: [{ system: FhirSystem.identifierType, code: 'ACSN', display: 'Accession ID' }] },
      value: source.study.accessionNumber,
    };
    if (options.accessionNumberSystem) accession.system = options.accessionNumberSystem;
  }
  const indication = report.sections.indication?.trim();
  if (indication) {
    contained.push(orderResource(indication, accession));
    resource.basedOn = [{ reference: '#order', type: 'ServiceRequest', ...(accession ? { identifier: accession } : {}) }];
  } else if (accession) {
    resource.basedOn = [{ type: 'ServiceRequest', identifier: accession }];
  }
  if (signer) resource.resultsInterpreter = [{ reference: '#signer', display: signer.name?.[0]?.text }];
  if (observations.length > 0) resource.result = observations.map((o) => ({ reference: `#${o.id}`, display: o.code.text }));
  return resource;
}

/** The order the report answers, as far as the report knows it: its reason (the clinical question) and accession number. */
function orderResource(indication: string, accession: Identifier | undefined): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    id: 'order',
    status: 'unknown',
    intent: 'order',
    ...(accession ? { identifier: [accession] } : {}),
    subject: { reference: '#patient' },
    reasonCode: [{ text: indication }],
  };
}
