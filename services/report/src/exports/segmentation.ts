/**
 * The AI model's finding heatmaps of one image as a fractional DICOM Segmentation (PROBABILITY),
 * for viewers that draw SEG but not Parametric Maps: one segment and one 8-bit frame per finding,
 * a pixel's value the model's probability for it times 255 (Maximum Fractional Value).
 *
 * Choices, and why:
 * - Segment labels are the findings (Segmented Property Type: the finding's SNOMED CT / RadLex
 *   code, else the model's own code in the local scheme; category SNOMED CT "Clinical finding"),
 *   Segment Algorithm Type AUTOMATIC with the model's name, a recommended display colour per
 *   segment so viewers tell them apart.
 * - Registered by reference on the source image's own pixel grid: Derivation Image Sequence per
 *   frame, and the same plane geometry as the Parametric Map (ai-results.ts planeGeometry: a Frame
 *   of Reference of its own standing for the source's pixel plane, identity orientation, origin at
 *   the first pixel, the source's spacing) in the shared functional groups, which viewers (OHIF's
 *   cornerstone SEG loader) need to place the frames on the image.
 */
import type { ReportResponse } from '@cxr/contracts';
import { SopClass } from '@cxr/dicom';
import {
  AI_RESULT_NOTICE,
  AiConcept,
  AiSeries,
  aiResultUids,
  codingSchemeIdentification,
  commonInstanceReference,
  equipmentModule,
  findingCodeItem,
  imageReference,
  mapDerivation,
  planeGeometry,
  resampleGrid,
  resultGrid,
  type ImageHeatmaps,
} from './ai-results.ts';
import { codeItem, derivedUid, dicomDateTime, fitText, writePart10, type CodedConcept, type NaturalDataset } from './part10.ts';
import { isExportable, NothingToExportError } from './report-content.ts';
import { patientAndStudyModules, type SourceStudy } from './source-study.ts';

const SEGMENTATION_DERIVATION: CodedConcept = { value: '113076', scheme: 'DCM', meaning: 'Segmentation' };

/** Tags (as dcmjs writes AT values) of the dimension that tells the frames apart: the segment number. */
const SEGMENT_IDENTIFICATION_SEQUENCE = '0062000A';
const REFERENCED_SEGMENT_NUMBER = '0062000B';

/** Recommended display colours (CIELab, PS3.3 C.10.7.1.1 scaled to 0..65535), one per segment in turn. */
const SEGMENT_COLOURS_LAB: ReadonlyArray<[number, number, number]> = [
  [34885, 53485, 50171], // red
  [57400, 23000, 60000], // yellow-green
  [30000, 36000, 12000], // blue
  [50000, 60000, 40000], // pink
  [45000, 20000, 35000], // green
];

export interface SegmentationInput {
  report: ReportResponse;
  source: SourceStudy;
  image: ImageHeatmaps;
  now?: Date;
}

/** Builds the fractional Segmentation Part 10 file of one image's finding heatmaps. */
export function toSegmentation(input: SegmentationInput): Buffer {
  const { report, source, image } = input;
  if (!isExportable(report)) throw new NothingToExportError(report.status);
  if (image.findings.length === 0) throw new NothingToExportError('without heatmaps');
  const { instance } = image;
  const grid = resultGrid(instance);
  const geometry = planeGeometry(instance, grid.factor);
  const created = dicomDateTime(input.now ?? new Date());
  const { seriesInstanceUid, sopInstanceUid } = aiResultUids(report, 'segmentation', instance.sopInstanceUid);
  const frameSize = grid.rows * grid.columns;
  const pixels = new Uint8Array(frameSize * image.findings.length);
  image.findings.forEach(({ heatmap }, k) => {
    const values = resampleGrid(heatmap, grid.columns, grid.rows);
    for (let i = 0; i < frameSize; i++) pixels[k * frameSize + i] = Math.round(Math.min(1, Math.max(0, values[i]!)) * 255);
  });
  const dimensionOrganizationUid = derivedUid('ai-seg-dimensions', sopInstanceUid);
  const model = report.model ? `${report.model.id} ${report.model.version}` : 'AI model';

  const segments = image.findings.map(({ finding }, k) => ({
    SegmentNumber: k + 1,
    SegmentLabel: fitText(finding.display, 'LO'),
    SegmentDescription: fitText(`AI probability of ${finding.display} (${AI_RESULT_NOTICE})`, 'ST'),
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: fitText(model, 'LO'),
    SegmentedPropertyCategoryCodeSequence: [codeItem(AiConcept.clinicalFinding)],
    SegmentedPropertyTypeCodeSequence: [findingCodeItem(finding)],
    RecommendedDisplayCIELabValue: SEGMENT_COLOURS_LAB[k % SEGMENT_COLOURS_LAB.length],
  }));
  const perFrame = image.findings.map(({ finding }, k) => ({
    FrameContentSequence: [{ DimensionIndexValues: [k + 1] }],
    DerivationImageSequence: [
      {
        DerivationDescription: mapDerivation(report, `Fractional segment (probability x 255) for "${finding.display}"`, grid.factor),
        DerivationCodeSequence: [codeItem(SEGMENTATION_DERIVATION)],
        SourceImageSequence: [
          { ...imageReference(instance), PurposeOfReferenceCodeSequence: [codeItem(AiConcept.sourceImagePurpose)], SpatialLocationsPreserved: grid.factor === 1 ? 'YES' : 'NO' },
        ],
      },
    ],
    SegmentIdentificationSequence: [{ ReferencedSegmentNumber: k + 1 }],
  }));

  const dataset: NaturalDataset = {
    SOPClassUID: SopClass.SegmentationStorage,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    ...codingSchemeIdentification(),
    ...patientAndStudyModules(source),
    // General Series, Segmentation Series
    Modality: 'SEG',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: AiSeries.segmentation.number,
    SeriesDescription: AiSeries.segmentation.description,
    BodyPartExamined: 'CHEST',
    // Frame of Reference
    FrameOfReferenceUID: geometry.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    // General Equipment, Enhanced General Equipment
    ...equipmentModule(report),
    // General Image, Segmentation Image
    InstanceNumber: 1,
    ContentDate: created.date,
    ContentTime: created.time,
    ImageType: ['DERIVED', 'PRIMARY'],
    ContentLabel: 'AI_FINDINGS',
    ContentDescription: fitText('AI probability segments, not clinically validated', 'LO'),
    ContentCreatorName: '',
    // The same whatever the report's state: the object's UID is per analysis, not per revision.
    ImageComments: `${AI_RESULT_NOTICE}; the model's output as it is, not reviewed by a radiologist (the radiologist's report is a separate SR).`,
    BurnedInAnnotation: 'NO',
    LossyImageCompression: '00',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: grid.rows,
    Columns: grid.columns,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    SegmentationType: 'FRACTIONAL',
    SegmentationFractionalType: 'PROBABILITY',
    MaximumFractionalValue: 255,
    SegmentSequence: segments,
    // Multi-frame Functional Groups, Multi-frame Dimension
    NumberOfFrames: image.findings.length,
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [geometry.pixelMeasures],
        PlanePositionSequence: [geometry.planePosition],
        PlaneOrientationSequence: [geometry.planeOrientation],
      },
    ],
    PerFrameFunctionalGroupsSequence: perFrame,
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUid,
        DimensionIndexPointer: REFERENCED_SEGMENT_NUMBER,
        FunctionalGroupPointer: SEGMENT_IDENTIFICATION_SEQUENCE,
        DimensionDescriptionLabel: 'Segment',
      },
    ],
    ...commonInstanceReference([instance]),
  };
  return writePart10(dataset, { keyword: 'PixelData', vr: 'OB', bytes: pixels });
}
