/**
 * A report as a DICOM Comprehensive SR document in the source study, so a PACS can store and
 * show it beside the images. The content tree follows TID 2000 (Basic Diagnostic Imaging Report):
 *
 *   CONTAINER (18748-4, LN, "Diagnostic Imaging Report")
 *     HAS CONCEPT MOD  language: English
 *     HAS OBS CONTEXT  observer: the AI model as a device (TID 1004); once signed, also the signer (TID 1003)
 *     CONTAINS         TEXT Comment: the AI disclaimer (draft) or the AI-assisted notice and signer (signed)
 *     CONTAINS         CONTAINER Indications for Procedure / TEXT Request: the clinical question (when there is one)
 *     CONTAINS         CONTAINER Findings
 *                        HAS CONCEPT MOD  algorithm name, version, parameters (TID 4019)
 *                        CONTAINS TEXT Finding: the findings text
 *                        CONTAINS CODE Finding = the finding's code, per AI finding, with
 *                          HAS PROPERTIES presence (in the report), certainty (model probability, %),
 *                                         operating threshold (%), review decision
 *                          HAS CONCEPT MOD laterality, finding site (when known)
 *                          INFERRED FROM  SCOORD image region (SELECTED FROM the image) or the IMAGE
 *     CONTAINS         CONTAINER Impressions / TEXT Impression
 *     CONTAINS         TEXT Addendum, per addendum (signed reports)
 *
 * Drafts are PARTIAL + UNVERIFIED (Preliminary Flag PRELIMINARY); a signed report is COMPLETE +
 * VERIFIED with the signer as Verifying Observer. Current Requested Procedure Evidence lists the
 * source instances. The SOP Instance UID is derived from the study and revision, so exporting the
 * same revision twice gives the same object.
 */
import { AI_DRAFT_DISCLAIMER, type ReportFinding, type ReportResponse } from '@cxr/contracts';
import { MANUFACTURER, SopClass } from '@cxr/dicom';
import { findingSiteText, isExportable, isPresentInReport, NothingToExportError, outOfScopeStatement } from './report-content.ts';
import {
  codeItem,
  derivedUid,
  dicomDateTime,
  findingConcept,
  fitText,
  LOCAL_SCHEME,
  personName,
  writePart10,
  type CodedConcept,
  type NaturalDataset,
} from './part10.ts';
import { patientAndStudyModules, type SourceInstance, type SourceStudy } from './source-study.ts';

/** Coded concepts of the content tree (PS3.16), named for what they mean here. */
export const SrConcept = Object.freeze({
  diagnosticImagingReport: { value: '18748-4', scheme: 'LN', meaning: 'Diagnostic Imaging Report' },
  language: { value: '121049', scheme: 'DCM', meaning: 'Language of Content Item and Descendants' },
  english: { value: 'en', scheme: 'RFC5646', meaning: 'English' },
  observerType: { value: '121005', scheme: 'DCM', meaning: 'Observer Type' },
  device: { value: '121007', scheme: 'DCM', meaning: 'Device' },
  person: { value: '121006', scheme: 'DCM', meaning: 'Person' },
  personObserverName: { value: '121008', scheme: 'DCM', meaning: 'Person Observer Name' },
  deviceObserverUid: { value: '121012', scheme: 'DCM', meaning: 'Device Observer UID' },
  deviceObserverName: { value: '121013', scheme: 'DCM', meaning: 'Device Observer Name' },
  deviceObserverManufacturer: { value: '121014', scheme: 'DCM', meaning: 'Device Observer Manufacturer' },
  deviceObserverModelName: { value: '121015', scheme: 'DCM', meaning: 'Device Observer Model Name' },
  comment: { value: '121106', scheme: 'DCM', meaning: 'Comment' },
  // A heading of CID 7001 and a report element of CID 7002 (TID 2002): the order's question.
  indicationsForProcedure: { value: '18785-6', scheme: 'LN', meaning: 'Indications for Procedure' },
  request: { value: '55115-0', scheme: 'LN', meaning: 'Request' },
  findings: { value: '59776-5', scheme: 'LN', meaning: 'Findings' },
  /** The COMPARISON section (a TID 2000 section heading of CID 7001). */
  comparisonStudy: { value: '18834-2', scheme: 'LN', meaning: 'Radiology Comparison study' },
  finding: { value: '121071', scheme: 'DCM', meaning: 'Finding' },
  impressions: { value: '19005-8', scheme: 'LN', meaning: 'Impressions' },
  impression: { value: '121073', scheme: 'DCM', meaning: 'Impression' },
  addendum: { value: '55107-7', scheme: 'LN', meaning: 'Addendum' },
  algorithmName: { value: '111001', scheme: 'DCM', meaning: 'Algorithm Name' },
  algorithmVersion: { value: '111003', scheme: 'DCM', meaning: 'Algorithm Version' },
  algorithmParameters: { value: '111002', scheme: 'DCM', meaning: 'Algorithm Parameters' },
  presence: { value: '705057003', scheme: 'SCT', meaning: 'Presence' },
  present: { value: '52101004', scheme: 'SCT', meaning: 'Present' },
  absent: { value: '272519000', scheme: 'SCT', meaning: 'Absent' },
  certaintyOfFinding: { value: '111012', scheme: 'DCM', meaning: 'Certainty of Finding' },
  operatingThreshold: { value: 'threshold', scheme: LOCAL_SCHEME, meaning: 'Operating threshold of the model' },
  reviewDecision: { value: 'review', scheme: LOCAL_SCHEME, meaning: 'Radiologist review of the AI finding' },
  laterality: { value: '272741003', scheme: 'SCT', meaning: 'Laterality' },
  right: { value: '24028007', scheme: 'SCT', meaning: 'Right' },
  left: { value: '7771000', scheme: 'SCT', meaning: 'Left' },
  bilateral: { value: '51440002', scheme: 'SCT', meaning: 'Right and left' },
  findingSite: { value: '363698007', scheme: 'SCT', meaning: 'Finding Site' },
  imageRegion: { value: '111030', scheme: 'DCM', meaning: 'Image Region' },
  percent: { value: '%', scheme: 'UCUM', meaning: 'percent' },
  chestXrSingleView: { value: '36554-4', scheme: 'LN', meaning: 'XR Chest Single view' },
  chestXrTwoViews: { value: '36643-5', scheme: 'LN', meaning: 'XR Chest 2 Views' },
} satisfies Record<string, CodedConcept>);

export const SR_SERIES_NUMBER = 901;
export const SR_SERIES_DESCRIPTION = 'AI chest X-ray report (structured)';

export interface SrExportOptions {
  /** Instance creation time; default now. */
  now?: Date;
  /** Verifying Organization of a signed report. */
  organization?: string;
}

export type Relationship = 'CONTAINS' | 'HAS OBS CONTEXT' | 'HAS CONCEPT MOD' | 'HAS PROPERTIES' | 'INFERRED FROM' | 'SELECTED FROM';

export function named(relationship: Relationship, valueType: string, concept: CodedConcept): NaturalDataset {
  return { RelationshipType: relationship, ValueType: valueType, ConceptNameCodeSequence: [codeItem(concept)] };
}

export function textItem(relationship: Relationship, concept: CodedConcept, value: string): NaturalDataset {
  return { ...named(relationship, 'TEXT', concept), TextValue: value };
}

export function codeContent(relationship: Relationship, concept: CodedConcept, value: CodedConcept, children: NaturalDataset[] = []): NaturalDataset {
  return { ...named(relationship, 'CODE', concept), ConceptCodeSequence: [codeItem(value)], ...(children.length > 0 ? { ContentSequence: children } : {}) };
}

export function numItem(relationship: Relationship, concept: CodedConcept, value: number, unit: CodedConcept): NaturalDataset {
  // DS holds at most 16 characters: two decimals of a percentage is plenty.
  return { ...named(relationship, 'NUM', concept), MeasuredValueSequence: [{ NumericValue: Number(value.toFixed(2)), MeasurementUnitsCodeSequence: [codeItem(unit)] }] };
}

export function containerItem(relationship: Relationship, concept: CodedConcept, children: NaturalDataset[]): NaturalDataset {
  return { ...named(relationship, 'CONTAINER', concept), ContinuityOfContent: 'SEPARATE', ContentSequence: children };
}

export function imageItem(relationship: Relationship, instance: SourceInstance): NaturalDataset {
  return {
    RelationshipType: relationship,
    ValueType: 'IMAGE',
    ReferencedSOPSequence: [{ ReferencedSOPClassUID: instance.sopClassUid, ReferencedSOPInstanceUID: instance.sopInstanceUid }],
  };
}

/** The finding's supporting region as a closed polyline in the image's pixel coordinates (column, row). */
function regionItem(finding: ReportFinding, instance: SourceInstance): NaturalDataset | null {
  if (!finding.region || !instance.rows || !instance.columns) return null;
  const { x, y, width, height } = finding.region;
  const [x0, y0, x1, y1] = [x * instance.columns, y * instance.rows, (x + width) * instance.columns, (y + height) * instance.rows];
  return {
    ...named('INFERRED FROM', 'SCOORD', SrConcept.imageRegion),
    GraphicType: 'POLYLINE',
    GraphicData: [x0, y0, x1, y0, x1, y1, x0, y1, x0, y0].map((v) => Math.round(v * 10) / 10),
    ContentSequence: [imageItem('SELECTED FROM', instance)],
  };
}

const SIDE_CONCEPT: Record<'right' | 'left' | 'bilateral', CodedConcept> = {
  right: SrConcept.right,
  left: SrConcept.left,
  bilateral: SrConcept.bilateral,
};

function decisionText(finding: ReportFinding): string {
  if (finding.decision === 'accepted') return 'Accepted by the radiologist';
  if (finding.decision === 'rejected') return 'Rejected by the radiologist';
  return 'Not reviewed';
}

function findingItem(finding: ReportFinding, source: SourceStudy): NaturalDataset {
  const present = isPresentInReport(finding);
  const children: NaturalDataset[] = [
    codeContent('HAS PROPERTIES', SrConcept.presence, present ? SrConcept.present : SrConcept.absent),
    numItem('HAS PROPERTIES', SrConcept.certaintyOfFinding, finding.probability * 100, SrConcept.percent),
    numItem('HAS PROPERTIES', SrConcept.operatingThreshold, finding.threshold * 100, SrConcept.percent),
    textItem('HAS PROPERTIES', SrConcept.reviewDecision, decisionText(finding)),
  ];
  if (finding.side && finding.side !== 'midline') children.push(codeContent('HAS CONCEPT MOD', SrConcept.laterality, SIDE_CONCEPT[finding.side]));
  const site = findingSiteText(finding);
  if (site) children.push(textItem('HAS CONCEPT MOD', SrConcept.findingSite, site));
  const instance = source.instances.find((i) => i.sopInstanceUid === finding.sopInstanceUid);
  if (instance) children.push(regionItem(finding, instance) ?? imageItem('INFERRED FROM', instance));
  return codeContent('CONTAINS', SrConcept.finding, findingConcept(finding), children);
}

function observerContext(report: ReportResponse): NaturalDataset[] {
  const items: NaturalDataset[] = [];
  if (report.model) {
    const { id, version, sha256 } = report.model;
    items.push(
      codeContent('HAS OBS CONTEXT', SrConcept.observerType, SrConcept.device),
      { ...named('HAS OBS CONTEXT', 'UIDREF', SrConcept.deviceObserverUid), UID: derivedUid('device', id, version, sha256) },
      textItem('HAS OBS CONTEXT', SrConcept.deviceObserverName, id),
      textItem('HAS OBS CONTEXT', SrConcept.deviceObserverManufacturer, MANUFACTURER),
      textItem('HAS OBS CONTEXT', SrConcept.deviceObserverModelName, `${id} ${version}`),
    );
  }
  if (report.signed && report.signature) {
    items.push(
      codeContent('HAS OBS CONTEXT', SrConcept.observerType, SrConcept.person),
      { ...named('HAS OBS CONTEXT', 'PNAME', SrConcept.personObserverName), PersonName: [personName(report.signature.signedBy.name || report.signature.signedBy.sub)] },
    );
  }
  return items;
}

function algorithmIdentification(report: ReportResponse): NaturalDataset[] {
  if (!report.model) return [];
  const { id, version, sha256 } = report.model;
  return [
    textItem('HAS CONCEPT MOD', SrConcept.algorithmName, id),
    textItem('HAS CONCEPT MOD', SrConcept.algorithmVersion, version),
    textItem('HAS CONCEPT MOD', SrConcept.algorithmParameters, `sha256=${sha256}; reference model trained on synthetic images only, not for clinical use`),
  ];
}

/** Current Requested Procedure Evidence: the source instances, grouped by series. */
function evidence(source: SourceStudy): NaturalDataset[] {
  const bySeries = new Map<string, SourceInstance[]>();
  for (const instance of source.instances) bySeries.set(instance.seriesInstanceUid, [...(bySeries.get(instance.seriesInstanceUid) ?? []), instance]);
  return [
    {
      StudyInstanceUID: source.studyInstanceUid,
      ReferencedSeriesSequence: [...bySeries].map(([seriesInstanceUid, instances]) => ({
        SeriesInstanceUID: seriesInstanceUid,
        ReferencedSOPSequence: instances.map((i) => ({ ReferencedSOPClassUID: i.sopClassUid, ReferencedSOPInstanceUID: i.sopInstanceUid })),
      })),
    },
  ];
}

/** The UIDs an SR export of this report revision gets. */
export function srUids(report: ReportResponse): { seriesInstanceUid: string; sopInstanceUid: string } {
  return {
    seriesInstanceUid: derivedUid('sr-series', report.studyInstanceUid),
    sopInstanceUid: derivedUid('sr', report.studyInstanceUid, String(report.revision)),
  };
}

/** Builds the SR as a Part 10 file. Throws NothingToExportError when the report has no draft. */
export function toDicomSr(report: ReportResponse, source: SourceStudy, options: SrExportOptions = {}): Buffer {
  if (!isExportable(report)) throw new NothingToExportError(report.status);
  const created = dicomDateTime(options.now ?? new Date());
  const content = dicomDateTime(new Date(report.signature?.signedAt ?? report.updatedAt));
  const { seriesInstanceUid, sopInstanceUid } = srUids(report);
  const signed = report.signed && report.signature !== null;
  const outOfScope = outOfScopeStatement(report);

  const indication = report.sections.indication?.trim();
  const indicationSection = indication ? [containerItem('CONTAINS', SrConcept.indicationsForProcedure, [textItem('CONTAINS', SrConcept.request, indication)])] : [];
  const comparison = report.sections.comparison?.trim();
  const comparisonSection = comparison ? [containerItem('CONTAINS', SrConcept.comparisonStudy, [textItem('CONTAINS', SrConcept.finding, comparison)])] : [];
  const findingsSection = containerItem('CONTAINS', SrConcept.findings, [
    ...algorithmIdentification(report),
    ...(report.sections.findings.trim() ? [textItem('CONTAINS', SrConcept.finding, report.sections.findings)] : []),
    ...report.findings.map((finding) => findingItem(finding, source)),
  ]);
  const impressionSection = containerItem(
    'CONTAINS',
    SrConcept.impressions,
    report.sections.impression.trim() ? [textItem('CONTAINS', SrConcept.impression, report.sections.impression)] : [],
  );
  const addenda = signed
    ? report.addenda.map((a) => textItem('CONTAINS', SrConcept.addendum, `${a.createdAt} ${a.author.name || a.author.sub}: ${a.text}`))
    : [];

  const dataset: NaturalDataset = {
    // SOP Common
    SOPClassUID: SopClass.ComprehensiveSR,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    // Patient, General Study (copied from the source)
    ...patientAndStudyModules(source),
    // SR Document Series
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: SR_SERIES_NUMBER,
    SeriesDescription: SR_SERIES_DESCRIPTION,
    ReferencedPerformedProcedureStepSequence: [],
    // General Equipment
    Manufacturer: MANUFACTURER,
    ...(report.model ? { ManufacturerModelName: fitText(report.model.id, 'LO'), SoftwareVersions: fitText(report.model.version, 'LO') } : {}),
    // SR Document General
    InstanceNumber: report.revision,
    ContentDate: content.date,
    ContentTime: content.time,
    CompletionFlag: signed ? 'COMPLETE' : 'PARTIAL',
    VerificationFlag: signed ? 'VERIFIED' : 'UNVERIFIED',
    PreliminaryFlag: signed ? 'FINAL' : 'PRELIMINARY',
    ...(signed
      ? {
          VerifyingObserverSequence: [
            {
              VerifyingObserverName: [personName(report.signature!.signedBy.name || report.signature!.signedBy.sub)],
              VerifyingObserverIdentificationCodeSequence: [],
              VerifyingOrganization: fitText(options.organization ?? '', 'LO'),
              VerificationDateTime: dicomDateTime(new Date(report.signature!.signedAt)).dateTime,
            },
          ],
        }
      : {}),
    PerformedProcedureCodeSequence: [codeItem(source.instances.length >= 2 ? SrConcept.chestXrTwoViews : SrConcept.chestXrSingleView)],
    CurrentRequestedProcedureEvidenceSequence: evidence(source),
    // SR Document Content: the root container
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [codeItem(SrConcept.diagnosticImagingReport)],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '2000' }],
    ContentSequence: [
      codeContent('HAS CONCEPT MOD', SrConcept.language, SrConcept.english),
      ...observerContext(report),
      textItem('CONTAINS', SrConcept.comment, signed ? report.disclaimer : AI_DRAFT_DISCLAIMER),
      ...(outOfScope ? [textItem('CONTAINS', SrConcept.comment, outOfScope)] : []),
      ...indicationSection,
      ...comparisonSection,
      findingsSection,
      impressionSection,
      ...addenda,
    ],
  };
  return writePart10(dataset);
}
