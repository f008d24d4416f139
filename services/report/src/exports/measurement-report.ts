/**
 * The AI model's findings as a DICOM TID 1500 Measurement Report in a Comprehensive 3D SR (the
 * SR IOD IHE AIR names for AI results; its 2D SCOORDs are what a radiograph needs), the form viewers
 * (OHIF's cornerstone-dicom-sr, PACS measurement panels) list as measurements:
 *
 *   CONTAINER (126000, DCM, "Imaging Measurement Report")                       TID 1500
 *     HAS CONCEPT MOD  Language = English
 *     HAS OBS CONTEXT  Observer Type = Device; Device Observer UID, Name, Manufacturer, Model Name,
 *                      Serial Number (the model: id, version, digest)                  TID 1002/1004
 *     HAS CONCEPT MOD  Procedure reported = Plain chest X-ray
 *     CONTAINS         CONTAINER Image Library > Image Library Group > IMAGE, per source image  TID 1600
 *     CONTAINS         CONTAINER Imaging Measurements, one Measurement Group per finding with a region:
 *                        HAS OBS CONTEXT Tracking Identifier, Tracking Unique Identifier
 *                        CONTAINS        CODE Finding = the finding (SNOMED CT / RadLex, else the model's code)
 *                        CONTAINS        TEXT Comment = "AI: <finding>" (the label viewers show)
 *                        HAS CONCEPT MOD Algorithm Name, Algorithm Version                  TID 4019
 *                        HAS CONCEPT MOD Laterality (when the model says a side)
 *                        CONTAINS        SCOORD Image Region (POLYLINE) > SELECTED FROM IMAGE    TID 1410
 *                        CONTAINS        NUM Certainty of Finding = the model's probability (0..1)
 *                                          > INFERRED FROM SCOORD Source of Measurement = the region  TID 300/320
 *                                            > SELECTED FROM IMAGE
 *                        CONTAINS        CODE Presence = Present / Absent (the model's call at its threshold)
 *     CONTAINS         CONTAINER Qualitative Evaluations
 *                        CONTAINS        CODE Finding = a finding without a region, per such finding:
 *                                          > HAS CONCEPT MOD Algorithm Name, Algorithm Version, Laterality
 *                                          > HAS PROPERTIES NUM Certainty of Finding > INFERRED FROM IMAGE
 *                                          > HAS PROPERTIES CODE Presence = Present / Absent
 *                        CONTAINS        TEXT Comment: "AI generated, not clinically validated, ..."
 *
 * Choices, and why:
 * - This object is the model's output, not the radiologist's report (that is the TID 2000 SR):
 *   COMPLETE and UNVERIFIED, with no radiologist decisions in it, so it does not change when the
 *   report is edited or signed and its UID derives from the study and analysis version alone.
 * - A measurement group is a finding with a place on the image. Findings without a region (a flat
 *   heatmap: most negative findings) are qualitative evaluations of the report instead, not
 *   TID 1501 groups without geometry: viewers that hydrate an SR's groups into their measurement
 *   tools (OHIF 3.13.2's cornerstone-dicom-sr) fail on a group without a SCOORD
 *   (`coords[0].ReferencedSOPSequence`) and then list none of the report's measurements.
 * - The probability is inferred from the region (the NUM's INFERRED FROM SCOORD, TID 300/320), the
 *   same polyline as the group's Image Region: the region is the hot area of the model's own map
 *   whose pooled value the probability is, and it is where Cornerstone's SR reader (OHIF's
 *   hydration) looks for a measurement's geometry (inside the group's first NUM).
 * - Presence is the model's own call (probability at or above its operating threshold), coded
 *   with SNOMED CT Present / Absent.
 */
import type { ReportFinding, ReportResponse } from '@cxr/contracts';
import { SopClass } from '@cxr/dicom';
import { AI_RESULT_NOTICE, AiConcept, AiSeries, aiResultUids, codingSchemeIdentification, analysedInstances, deviceObserverUid, equipmentModule } from './ai-results.ts';
import { codeContent, containerItem, imageItem, named, SrConcept, textItem } from './dicom-sr.ts';
import { codeItem, derivedUid, dicomDateTime, findingConcept, writePart10, type CodedConcept, type NaturalDataset } from './part10.ts';
import { isExportable, NothingToExportError } from './report-content.ts';
import { patientAndStudyModules, type SourceInstance, type SourceStudy } from './source-study.ts';

export const Tid1500Concept = Object.freeze({
  imagingMeasurementReport: { value: '126000', scheme: 'DCM', meaning: 'Imaging Measurement Report' },
  procedureReported: { value: '121058', scheme: 'DCM', meaning: 'Procedure reported' },
  plainChestXray: { value: '399208008', scheme: 'SCT', meaning: 'Plain chest X-ray' },
  imageLibrary: { value: '111028', scheme: 'DCM', meaning: 'Image Library' },
  imageLibraryGroup: { value: '126200', scheme: 'DCM', meaning: 'Image Library Group' },
  imagingMeasurements: { value: '126010', scheme: 'DCM', meaning: 'Imaging Measurements' },
  measurementGroup: { value: '125007', scheme: 'DCM', meaning: 'Measurement Group' },
  trackingIdentifier: { value: '112039', scheme: 'DCM', meaning: 'Tracking Identifier' },
  trackingUid: { value: '112040', scheme: 'DCM', meaning: 'Tracking Unique Identifier' },
  qualitativeEvaluations: { value: 'C0034375', scheme: 'UMLS', meaning: 'Qualitative Evaluations' },
  deviceObserverSerialNumber: { value: '121016', scheme: 'DCM', meaning: 'Device Observer Serial Number' },
  sourceOfMeasurement: { value: '121112', scheme: 'DCM', meaning: 'Source of Measurement' },
} satisfies Record<string, CodedConcept>);

export interface MeasurementReportOptions {
  now?: Date;
}

/**
 * The model's probability as a measurement (TID 300), inferred from the finding's region on the
 * image when it has one, else from the image it was computed on.
 */
function numProbability(relationship: 'CONTAINS' | 'HAS PROPERTIES', probability: number, source: NaturalDataset | undefined): NaturalDataset {
  return {
    ...named(relationship, 'NUM', SrConcept.certaintyOfFinding),
    MeasuredValueSequence: [{ NumericValue: Number(probability.toFixed(4)), MeasurementUnitsCodeSequence: [codeItem(AiConcept.probability)] }],
    ...(source ? { ContentSequence: [{ ...source, RelationshipType: 'INFERRED FROM', ConceptNameCodeSequence: [codeItem(Tid1500Concept.sourceOfMeasurement)] }] } : {}),
  };
}

/** The finding's region as a closed polyline in the source image's pixel coordinates (column, row). */
function regionScoord(finding: ReportFinding, instance: SourceInstance): NaturalDataset | null {
  if (!finding.region || !instance.rows || !instance.columns) return null;
  const { x, y, width, height } = finding.region;
  const [x0, y0, x1, y1] = [x * instance.columns, y * instance.rows, (x + width) * instance.columns, (y + height) * instance.rows];
  return {
    ...named('CONTAINS', 'SCOORD', SrConcept.imageRegion),
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

/** The finding's coded description: its concept, the model, and the side when the model says one. */
function findingModifiers(report: ReportResponse, finding: ReportFinding): NaturalDataset[] {
  return [
    ...(report.model
      ? [textItem('HAS CONCEPT MOD', SrConcept.algorithmName, report.model.id), textItem('HAS CONCEPT MOD', SrConcept.algorithmVersion, report.model.version)]
      : []),
    ...(finding.side && finding.side !== 'midline' ? [codeContent('HAS CONCEPT MOD', SrConcept.laterality, SIDE_CONCEPT[finding.side])] : []),
  ];
}

function presence(relationship: 'CONTAINS' | 'HAS PROPERTIES', finding: ReportFinding): NaturalDataset {
  return codeContent(relationship, SrConcept.presence, finding.positive ? SrConcept.present : SrConcept.absent);
}

/** The group's Comment: the name viewers label the measurement with (Cornerstone/OHIF take a group's Comment as its label), marked as AI. */
export function measurementLabel(finding: ReportFinding): string {
  return `AI: ${finding.display}`;
}

/** A finding with a region on its image as a TID 1410 Planar ROI measurement group. */
function measurementGroup(report: ReportResponse, finding: ReportFinding, region: NaturalDataset, index: number): NaturalDataset {
  const children: NaturalDataset[] = [
    textItem('HAS OBS CONTEXT', Tid1500Concept.trackingIdentifier, `AI ${finding.code} ${index + 1}`),
    {
      ...named('HAS OBS CONTEXT', 'UIDREF', Tid1500Concept.trackingUid),
      UID: derivedUid('ai-tracking', report.studyInstanceUid, String(report.analysisVersion), finding.sopInstanceUid, finding.code),
    },
    codeContent('CONTAINS', SrConcept.finding, findingConcept(finding)),
    textItem('CONTAINS', SrConcept.comment, measurementLabel(finding)),
    ...findingModifiers(report, finding),
    region,
    numProbability('CONTAINS', finding.probability, region),
    presence('CONTAINS', finding),
  ];
  return {
    ...containerItem('CONTAINS', Tid1500Concept.measurementGroup, children),
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1410' }],
  };
}

/** A finding without a region as a qualitative evaluation of the report: its code, probability and the model's call. */
function qualitativeFinding(report: ReportResponse, finding: ReportFinding, instance: SourceInstance | undefined): NaturalDataset {
  return codeContent('CONTAINS', SrConcept.finding, findingConcept(finding), [
    ...findingModifiers(report, finding),
    numProbability('HAS PROPERTIES', finding.probability, instance ? imageItem('INFERRED FROM', instance) : undefined),
    presence('HAS PROPERTIES', finding),
  ]);
}

function deviceObserver(report: ReportResponse): NaturalDataset[] {
  const uid = deviceObserverUid(report);
  if (!report.model || !uid) return [];
  const equipment = equipmentModule(report);
  return [
    codeContent('HAS OBS CONTEXT', SrConcept.observerType, SrConcept.device),
    { ...named('HAS OBS CONTEXT', 'UIDREF', SrConcept.deviceObserverUid), UID: uid },
    textItem('HAS OBS CONTEXT', SrConcept.deviceObserverName, report.model.id),
    textItem('HAS OBS CONTEXT', SrConcept.deviceObserverManufacturer, String(equipment.Manufacturer)),
    textItem('HAS OBS CONTEXT', SrConcept.deviceObserverModelName, `${report.model.id} ${report.model.version}`),
    textItem('HAS OBS CONTEXT', Tid1500Concept.deviceObserverSerialNumber, String(equipment.DeviceSerialNumber)),
  ];
}

/** The UIDs of a study's AI measurement report (per analysis version). */
export function measurementReportUids(report: ReportResponse): { seriesInstanceUid: string; sopInstanceUid: string } {
  return aiResultUids(report, 'measurementReport');
}

/** Builds the TID 1500 Measurement Report Part 10 file. Throws NothingToExportError when the report has no AI findings. */
export function toMeasurementReport(report: ReportResponse, source: SourceStudy, options: MeasurementReportOptions = {}): Buffer {
  if (!isExportable(report)) throw new NothingToExportError(report.status);
  if (report.findings.length === 0) throw new NothingToExportError(`${report.status} without AI findings`);
  const created = dicomDateTime(options.now ?? new Date());
  const { seriesInstanceUid, sopInstanceUid } = measurementReportUids(report);
  const instances = analysedInstances(report, source);
  const bySop = new Map(source.instances.map((i) => [i.sopInstanceUid, i]));
  const regions = report.findings.map((finding) => {
    const instance = bySop.get(finding.sopInstanceUid);
    return instance ? regionScoord(finding, instance) : null;
  });
  const located = report.findings.flatMap((finding, index) => (regions[index] ? [{ finding, region: regions[index], index }] : []));
  const unlocated = report.findings.filter((_, index) => !regions[index]);

  const dataset: NaturalDataset = {
    SOPClassUID: SopClass.Comprehensive3DSR,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    ...codingSchemeIdentification(),
    ...patientAndStudyModules(source),
    // SR Document Series
    Modality: 'SR',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: AiSeries.measurementReport.number,
    SeriesDescription: AiSeries.measurementReport.description,
    ReferencedPerformedProcedureStepSequence: [],
    // General Equipment (the model)
    ...equipmentModule(report),
    // SR Document General
    InstanceNumber: 1,
    ContentDate: created.date,
    ContentTime: created.time,
    CompletionFlag: 'COMPLETE',
    VerificationFlag: 'UNVERIFIED',
    PerformedProcedureCodeSequence: [codeItem(Tid1500Concept.plainChestXray)],
    CurrentRequestedProcedureEvidenceSequence: [
      {
        StudyInstanceUID: source.studyInstanceUid,
        ReferencedSeriesSequence: [...new Set(instances.map((i) => i.seriesInstanceUid))].map((seriesInstanceUid) => ({
          SeriesInstanceUID: seriesInstanceUid,
          ReferencedSOPSequence: instances
            .filter((i) => i.seriesInstanceUid === seriesInstanceUid)
            .map((i) => ({ ReferencedSOPClassUID: i.sopClassUid, ReferencedSOPInstanceUID: i.sopInstanceUid })),
        })),
      },
    ],
    // SR Document Content
    ValueType: 'CONTAINER',
    ConceptNameCodeSequence: [codeItem(Tid1500Concept.imagingMeasurementReport)],
    ContinuityOfContent: 'SEPARATE',
    ContentTemplateSequence: [{ MappingResource: 'DCMR', TemplateIdentifier: '1500' }],
    ContentSequence: [
      codeContent('HAS CONCEPT MOD', SrConcept.language, SrConcept.english),
      ...deviceObserver(report),
      codeContent('HAS CONCEPT MOD', Tid1500Concept.procedureReported, Tid1500Concept.plainChestXray),
      containerItem('CONTAINS', Tid1500Concept.imageLibrary, [
        containerItem('CONTAINS', Tid1500Concept.imageLibraryGroup, instances.map((i) => imageItem('CONTAINS', i))),
      ]),
      ...(located.length > 0
        ? [containerItem('CONTAINS', Tid1500Concept.imagingMeasurements, located.map(({ finding, region, index }) => measurementGroup(report, finding, region, index)))]
        : []),
      containerItem('CONTAINS', Tid1500Concept.qualitativeEvaluations, [
        ...unlocated.map((finding) => qualitativeFinding(report, finding, bySop.get(finding.sopInstanceUid))),
        textItem('CONTAINS', SrConcept.comment, `${AI_RESULT_NOTICE}. The model's output as it is, not reviewed by a radiologist; not for diagnosis.`),
      ]),
    ],
  };
  return writePart10(dataset);
}
