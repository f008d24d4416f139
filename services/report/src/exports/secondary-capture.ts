/**
 * A finding's overlay (the colour heatmap over the grey image, with its legend) as a DICOM
 * Secondary Capture image in the source study, so that any PACS viewer can show it.
 *
 * Choices, and why:
 * - Secondary Capture Image Storage, RGB, 8 bits, uncompressed: the one colour image IOD every
 *   PACS displays. The pixels are the overlay PNG's, unchanged (alpha, if any, flattened on black).
 * - One series per study and analysis version ("AI heatmap overlays - AI-generated, not for
 *   diagnosis", plain ASCII so the object needs no extended character set), and a SOP Instance
 *   UID derived from study, version, image and finding: re-exporting gives the same object.
 * - The source image is named in Source Image Sequence (with the DICOM purpose "source image for
 *   image processing operation") and in Referenced Image Sequence; the legend and heatmap are
 *   burned in (Burned In Annotation YES); Image Comments carry the disclaimer and Derivation
 *   Description says how the image was made.
 */
import sharp from 'sharp';
import { AI_DRAFT_DISCLAIMER, type ReportFinding, type ReportResponse } from '@cxr/contracts';
import { MANUFACTURER, SopClass } from '@cxr/dicom';
import { codeItem, derivedUid, dicomDateTime, fitText, writePart10, type NaturalDataset } from './part10.ts';
import { findingSiteText, isPresentInReport } from './report-content.ts';
import { patientAndStudyModules, type SourceStudy } from './source-study.ts';

export const OVERLAY_SERIES_NUMBER = 900;
export const OVERLAY_SERIES_DESCRIPTION = 'AI heatmap overlays - AI-generated, not for diagnosis';
export const OVERLAY_IMAGE_COMMENT =
  'AI-generated heatmap overlay, not for diagnosis. Shows where a reference model trained on synthetic images only ' +
  'found evidence for a finding; not for clinical use.';

const SOURCE_IMAGE_PURPOSE = { value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' };

/** The overlay's source image is not among the study's originals. */
export class OverlaySourceMissingError extends Error {
  readonly permanent = true;
  constructor() {
    super('the image this overlay was made from is not among the original instances of the study');
    this.name = 'OverlaySourceMissingError';
  }
}

export interface SecondaryCaptureInput {
  report: ReportResponse;
  finding: ReportFinding;
  source: SourceStudy;
  /** The overlay PNG as stored in the reports bucket. */
  overlayPng: Buffer;
  /** Default now. */
  now?: Date;
}

export function overlayUids(report: ReportResponse, finding: ReportFinding): { seriesInstanceUid: string; sopInstanceUid: string } {
  const version = String(report.analysisVersion);
  return {
    seriesInstanceUid: derivedUid('overlay-series', report.studyInstanceUid, version),
    sopInstanceUid: derivedUid('overlay', report.studyInstanceUid, version, finding.sopInstanceUid, finding.code),
  };
}

function derivationDescription(report: ReportResponse, finding: ReportFinding): string {
  const site = findingSiteText(finding);
  const model = report.model ? `${report.model.id} ${report.model.version}` : 'the AI model';
  return fitText(
    `Colour-mapped heatmap of ${model} for "${finding.display}" (probability ${finding.probability.toFixed(2)}, ` +
      `threshold ${finding.threshold.toFixed(2)}, ${isPresentInReport(finding) ? 'present' : 'absent'} in the report` +
      `${site ? `, ${site}` : ''}) over a downsampled grey rendering of the source image; opacity rises with heat; ` +
      'legend bar bottom-right (low left, high right).',
    'ST',
  );
}

/** Builds the Secondary Capture Part 10 file of one finding's overlay. */
export async function toOverlaySecondaryCapture(input: SecondaryCaptureInput): Promise<Buffer> {
  const { report, finding, source } = input;
  const sourceImage = source.instances.find((i) => i.sopInstanceUid === finding.sopInstanceUid);
  if (!sourceImage) throw new OverlaySourceMissingError();
  const { data, info } = await sharp(input.overlayPng)
    .flatten({ background: { r: 0, g: 0, b: 0 } })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`overlay decoded to ${info.channels} channels, expected 3`);
  const created = dicomDateTime(input.now ?? new Date());
  const { seriesInstanceUid, sopInstanceUid } = overlayUids(report, finding);
  const instanceNumber = report.findings.findIndex((f) => f.code === finding.code && f.sopInstanceUid === finding.sopInstanceUid) + 1;
  const pixels = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const reference = { ReferencedSOPClassUID: sourceImage.sopClassUid, ReferencedSOPInstanceUID: sourceImage.sopInstanceUid };

  const dataset: NaturalDataset = {
    // SOP Common
    SOPClassUID: SopClass.SecondaryCaptureImageStorage,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    // Patient, General Study (copied from the source)
    ...patientAndStudyModules(source),
    // General Series
    Modality: 'OT',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: OVERLAY_SERIES_NUMBER,
    SeriesDescription: OVERLAY_SERIES_DESCRIPTION,
    // General Equipment, SC Equipment
    Manufacturer: MANUFACTURER,
    ...(report.model ? { ManufacturerModelName: fitText(report.model.id, 'LO'), SoftwareVersions: fitText(report.model.version, 'LO') } : {}),
    ConversionType: 'WSD',
    // General Image, General Reference
    InstanceNumber: instanceNumber > 0 ? instanceNumber : 1,
    PatientOrientation: sourceImage.patientOrientation.length === 2 ? sourceImage.patientOrientation : '',
    ContentDate: created.date,
    ContentTime: created.time,
    ImageType: ['DERIVED', 'SECONDARY'],
    DerivationDescription: derivationDescription(report, finding),
    SourceImageSequence: [{ ...reference, PurposeOfReferenceCodeSequence: [codeItem(SOURCE_IMAGE_PURPOSE)] }],
    ReferencedImageSequence: [reference],
    ImageComments: report.signed ? `${OVERLAY_IMAGE_COMMENT} ${report.disclaimer}` : `${OVERLAY_IMAGE_COMMENT} ${AI_DRAFT_DISCLAIMER}`,
    BurnedInAnnotation: 'YES',
    LossyImageCompression: '00',
    // SC Image
    DateOfSecondaryCapture: created.date,
    TimeOfSecondaryCapture: created.time,
    // Image Pixel
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'RGB',
    PlanarConfiguration: 0,
    Rows: info.height,
    Columns: info.width,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: [pixels],
    _vrMap: { PixelData: 'OB' },
  };
  return writePart10(dataset);
}
