/**
 * The AI model's finding heatmaps of one image as a DICOM Segmentation, in two kinds:
 *
 * - fractional (PROBABILITY), for viewers that draw SEG but not Parametric Maps: one segment and
 *   one 8-bit frame per finding, a pixel's value the model's probability for it times 255
 *   (Maximum Fractional Value);
 * - binary, for viewers that draw only binary SEGs (OHIF 3.13.2 declines fractional ones): one
 *   segment and one 1-bit frame per finding the model called present, a pixel set where that
 *   finding's map reaches the finding's operating threshold (the model manifest's threshold the
 *   finding was called at, `finding.threshold`).
 *
 * Choices, and why:
 * - Segment labels are the findings (Segmented Property Type: the finding's SNOMED CT / RadLex
 *   code, else the model's own code in the local scheme; category SNOMED CT "Clinical finding"),
 *   Segment Algorithm Type AUTOMATIC with the model's name, a recommended display colour per
 *   segment so viewers tell them apart.
 * - The binary kind has segments only for findings called present: a mask of a finding the model
 *   called absent would draw an area for something the report says is not there. A finding called
 *   present whose map nowhere reaches its threshold (the model's image-level score also has a
 *   global part, e.g. cardiomegaly) has no area to draw and no segment; an image with no segment
 *   left has no binary SEG (NothingToExportError).
 * - Registered by reference on the source image's own pixel grid: Derivation Image Sequence per
 *   frame, and the same plane geometry as the Parametric Map (ai-results.ts planeGeometry: a Frame
 *   of Reference of its own standing for the source's pixel plane, identity orientation, origin at
 *   the first pixel, the source's spacing) in the shared functional groups, which viewers (OHIF's
 *   cornerstone SEG loader) need to place the frames on the image.
 * - Each kind is its own series (and UID), so a PACS can hold both.
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

export type SegmentationKind = 'fractional' | 'binary';
export const SEGMENTATION_KINDS: readonly SegmentationKind[] = Object.freeze(['fractional', 'binary']);

/** A finding's heatmap at or above its operating threshold, as a 0/1 mask on the grid; null when nowhere. */
function thresholdMask(values: Float32Array, threshold: number): Uint8Array | null {
  const mask = new Uint8Array(values.length);
  let any = false;
  // The heatmap is quantised to 1/255: compare at that precision, so a cell stored as the threshold counts.
  const cut = Math.round(threshold * 255);
  for (let i = 0; i < values.length; i++) {
    if (Math.round(values[i]! * 255) >= cut) {
      mask[i] = 1;
      any = true;
    }
  }
  return any ? mask : null;
}

/** Packs 0/1 frames into 1-bit pixel data: frames back to back, bit i of the object in byte i/8, least significant bit first (PS3.5 8.1.1). */
export function packBits(frames: Uint8Array[], frameSize: number): Uint8Array {
  const bits = frames.length * frameSize;
  const packed = new Uint8Array(Math.ceil(Math.ceil(bits / 8) / 2) * 2); // even length
  frames.forEach((frame, k) => {
    for (let i = 0; i < frameSize; i++) {
      if (frame[i]) {
        const bit = k * frameSize + i;
        packed[bit >> 3]! |= 1 << (bit & 7);
      }
    }
  });
  return packed;
}

/** Builds the fractional Segmentation Part 10 file of one image's finding heatmaps. */
export function toSegmentation(input: SegmentationInput): Buffer {
  return buildSegmentation(input, 'fractional');
}

/**
 * Builds the binary Segmentation Part 10 file of one image: the findings called present, each
 * thresholded at its operating point. Throws NothingToExportError when no such finding has an area.
 */
export function toBinarySegmentation(input: SegmentationInput): Buffer {
  return buildSegmentation(input, 'binary');
}

const SEG_KIND = {
  fractional: { series: 'segmentation', contentLabel: 'AI_FINDINGS', contentDescription: 'AI probability segments, not clinically validated' },
  binary: { series: 'binarySegmentation', contentLabel: 'AI_FINDING_AREAS', contentDescription: 'AI finding areas at the operating threshold, not validated' },
} as const;

function buildSegmentation(input: SegmentationInput, kind: SegmentationKind): Buffer {
  const { report, source, image } = input;
  if (!isExportable(report)) throw new NothingToExportError(report.status);
  if (image.findings.length === 0) throw new NothingToExportError('without heatmaps');
  const { instance } = image;
  const grid = resultGrid(instance);
  const geometry = planeGeometry(instance, grid.factor);
  const created = dicomDateTime(input.now ?? new Date());
  const { seriesInstanceUid, sopInstanceUid } = aiResultUids(report, SEG_KIND[kind].series, instance.sopInstanceUid);
  const frameSize = grid.rows * grid.columns;
  const frames: Array<{ finding: ImageHeatmaps['findings'][number]['finding']; frame: Uint8Array }> = [];
  for (const { finding, heatmap } of image.findings) {
    const values = resampleGrid(heatmap, grid.columns, grid.rows);
    if (kind === 'binary') {
      if (!finding.positive) continue;
      const mask = thresholdMask(values, finding.threshold);
      if (mask) frames.push({ finding, frame: mask });
      continue;
    }
    const frame = new Uint8Array(frameSize);
    for (let i = 0; i < frameSize; i++) frame[i] = Math.round(Math.min(1, Math.max(0, values[i]!)) * 255);
    frames.push({ finding, frame });
  }
  if (frames.length === 0) throw new NothingToExportError('without a finding called present that has an area at its threshold');
  const pixels = kind === 'binary' ? packBits(frames.map((f) => f.frame), frameSize) : concatFrames(frames.map((f) => f.frame), frameSize);
  const dimensionOrganizationUid = derivedUid('ai-seg-dimensions', sopInstanceUid);
  const model = report.model ? `${report.model.id} ${report.model.version}` : 'AI model';

  const segments = frames.map(({ finding }, k) => ({
    SegmentNumber: k + 1,
    SegmentLabel: fitText(finding.display, 'LO'),
    SegmentDescription: fitText(
      kind === 'binary'
        ? `AI finding area of ${finding.display}: where the model's map reaches its operating threshold ${finding.threshold} (${AI_RESULT_NOTICE})`
        : `AI probability of ${finding.display} (${AI_RESULT_NOTICE})`,
      'ST',
    ),
    SegmentAlgorithmType: 'AUTOMATIC',
    SegmentAlgorithmName: fitText(model, 'LO'),
    SegmentedPropertyCategoryCodeSequence: [codeItem(AiConcept.clinicalFinding)],
    SegmentedPropertyTypeCodeSequence: [findingCodeItem(finding)],
    RecommendedDisplayCIELabValue: SEGMENT_COLOURS_LAB[k % SEGMENT_COLOURS_LAB.length],
  }));
  const perFrame = frames.map(({ finding }, k) => ({
    FrameContentSequence: [{ DimensionIndexValues: [k + 1] }],
    DerivationImageSequence: [
      {
        DerivationDescription: mapDerivation(
          report,
          kind === 'binary'
            ? `Binary segment (map at or above the operating threshold ${finding.threshold}) for "${finding.display}"`
            : `Fractional segment (probability x 255) for "${finding.display}"`,
          grid.factor,
        ),
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
    SeriesNumber: AiSeries[SEG_KIND[kind].series].number,
    SeriesDescription: AiSeries[SEG_KIND[kind].series].description,
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
    ContentLabel: SEG_KIND[kind].contentLabel,
    ContentDescription: fitText(SEG_KIND[kind].contentDescription, 'LO'),
    ContentCreatorName: '',
    // The same whatever the report's state: the object's UID is per analysis, not per revision.
    ImageComments: `${AI_RESULT_NOTICE}; the model's output as it is, not reviewed by a radiologist (the radiologist's report is a separate SR).`,
    BurnedInAnnotation: 'NO',
    LossyImageCompression: '00',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: grid.rows,
    Columns: grid.columns,
    ...(kind === 'binary'
      ? { BitsAllocated: 1, BitsStored: 1, HighBit: 0, PixelRepresentation: 0, SegmentationType: 'BINARY' }
      : { BitsAllocated: 8, BitsStored: 8, HighBit: 7, PixelRepresentation: 0, SegmentationType: 'FRACTIONAL', SegmentationFractionalType: 'PROBABILITY', MaximumFractionalValue: 255 }),
    SegmentSequence: segments,
    // Multi-frame Functional Groups, Multi-frame Dimension
    NumberOfFrames: frames.length,
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

function concatFrames(frames: Uint8Array[], frameSize: number): Uint8Array {
  const out = new Uint8Array(frames.length * frameSize);
  frames.forEach((frame, k) => out.set(frame, k * frameSize));
  return out;
}
