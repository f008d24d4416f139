/**
 * The AI model's finding heatmaps of one image as a DICOM Parametric Map: one 32-bit float frame
 * per finding, each value the model's output (0..1) for that finding there (the sigmoid of its
 * spatial logit map, resampled: not a calibrated per-pixel probability).
 *
 * Choices, and why:
 * - Float Pixel Data (7FE0,0008) with an identity Real World Value Mapping (slope 1, intercept 0,
 *   0..1 → 0..1, unit UCUM `{probability}`), its Quantity Definition saying which finding the
 *   frame is about; the frames are told apart by a dimension on the mapping's LUT Label.
 * - Registered to the source image by reference, not geometry: Derivation Image Sequence (Source
 *   Image Sequence, purpose 121322) per frame, Referenced Image Sequence in the shared groups, the
 *   same pixel grid (see ai-results.ts). The IOD requires plane geometry, which a projection
 *   radiograph does not have: the frames get a Frame of Reference derived from the image that
 *   stands only for its pixel plane (`planeGeometry`), never the source's own (whose patient
 *   coordinates we do not know).
 * - Window 0..1 (Frame VOI LUT) so a viewer shows the probabilities as they are.
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
import { codeItem, derivedUid, dicomDateTime, fitText, float32LittleEndian, writePart10, type CodedConcept, type NaturalDataset } from './part10.ts';
import { isExportable, NothingToExportError } from './report-content.ts';
import { patientAndStudyModules, type SourceStudy } from './source-study.ts';

const PmapConcept = Object.freeze({
  quantity: { value: '246205007', scheme: 'SCT', meaning: 'Quantity' },
  probability: { value: '30207005', scheme: 'SCT', meaning: 'Probability' },
  finding: { value: '121071', scheme: 'DCM', meaning: 'Finding' },
  /** Derivation: the frame is a map computed from the source image. */
  derivation: { value: '110820', scheme: 'DCM', meaning: 'Image processing' },
} satisfies Record<string, CodedConcept>);

/** Tags (as dcmjs writes AT values) of the dimension that tells the frames apart. */
const REAL_WORLD_VALUE_MAPPING_SEQUENCE = '00409096';
const LUT_LABEL = '00409210';

export interface ParametricMapInput {
  report: ReportResponse;
  source: SourceStudy;
  image: ImageHeatmaps;
  now?: Date;
}

/** Builds the Parametric Map Part 10 file of one image's finding heatmaps. */
export function toParametricMap(input: ParametricMapInput): Buffer {
  const { report, source, image } = input;
  if (!isExportable(report)) throw new NothingToExportError(report.status);
  if (image.findings.length === 0) throw new NothingToExportError('without heatmaps');
  const { instance } = image;
  const grid = resultGrid(instance);
  const created = dicomDateTime(input.now ?? new Date());
  const { seriesInstanceUid, sopInstanceUid } = aiResultUids(report, 'parametricMap', instance.sopInstanceUid);
  const frameSize = grid.rows * grid.columns;
  const pixels = new Float32Array(frameSize * image.findings.length);
  image.findings.forEach(({ heatmap }, k) => pixels.set(resampleGrid(heatmap, grid.columns, grid.rows), k * frameSize));
  const dimensionOrganizationUid = derivedUid('ai-pmap-dimensions', sopInstanceUid);
  const geometry = planeGeometry(instance, grid.factor);

  const perFrame = image.findings.map(({ finding }, k) => ({
    FrameContentSequence: [{ DimensionIndexValues: [k + 1] }],
    DerivationImageSequence: [
      {
        DerivationDescription: mapDerivation(report, `Probability map for "${finding.display}"`, grid.factor),
        DerivationCodeSequence: [codeItem(PmapConcept.derivation)],
        SourceImageSequence: [
          { ...imageReference(instance), PurposeOfReferenceCodeSequence: [codeItem(AiConcept.sourceImagePurpose)], SpatialLocationsPreserved: grid.factor === 1 ? 'YES' : 'NO' },
        ],
      },
    ],
    RealWorldValueMappingSequence: [
      {
        LUTExplanation: fitText(`AI probability of ${finding.display}`, 'LO'),
        LUTLabel: fitText(`${k + 1} ${finding.code}`, 'SH'),
        MeasurementUnitsCodeSequence: [codeItem(AiConcept.probability)],
        DoubleFloatRealWorldValueFirstValueMapped: 0,
        DoubleFloatRealWorldValueLastValueMapped: 1,
        RealWorldValueIntercept: 0,
        RealWorldValueSlope: 1,
        QuantityDefinitionSequence: [
          { ValueType: 'CODE', ConceptNameCodeSequence: [codeItem(PmapConcept.quantity)], ConceptCodeSequence: [codeItem(PmapConcept.probability)] },
          { ValueType: 'CODE', ConceptNameCodeSequence: [codeItem(PmapConcept.finding)], ConceptCodeSequence: [findingCodeItem(finding)] },
        ],
      },
    ],
  }));

  const dataset: NaturalDataset = {
    SOPClassUID: SopClass.ParametricMapStorage,
    SOPInstanceUID: sopInstanceUid,
    InstanceCreationDate: created.date,
    InstanceCreationTime: created.time,
    ...codingSchemeIdentification(),
    ...patientAndStudyModules(source),
    // General Series, Parametric Map Series
    Modality: 'OT',
    SeriesInstanceUID: seriesInstanceUid,
    SeriesNumber: AiSeries.parametricMap.number,
    SeriesDescription: AiSeries.parametricMap.description,
    BodyPartExamined: 'CHEST',
    // Frame of Reference
    FrameOfReferenceUID: geometry.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    // General Equipment, Enhanced General Equipment
    ...equipmentModule(report),
    // General Image, Parametric Map Image
    InstanceNumber: 1,
    ContentDate: created.date,
    ContentTime: created.time,
    ImageType: ['DERIVED', 'PRIMARY', 'NONE', 'NONE'],
    ContentQualification: 'RESEARCH',
    ContentLabel: 'AI_PROBABILITY',
    ContentDescription: fitText('AI probability maps, not clinically validated', 'LO'),
    ContentCreatorName: '',
    // The same whatever the report's state: the object's UID is per analysis, not per revision.
    ImageComments: `${AI_RESULT_NOTICE}; the model's output as it is, not reviewed by a radiologist (the radiologist's report is a separate SR).`,
    BurnedInAnnotation: 'NO',
    RecognizableVisualFeatures: 'NO',
    LossyImageCompression: '00',
    PresentationLUTShape: 'IDENTITY',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: grid.rows,
    Columns: grid.columns,
    BitsAllocated: 32,
    // Multi-frame Functional Groups, Multi-frame Dimension
    NumberOfFrames: image.findings.length,
    SharedFunctionalGroupsSequence: [
      {
        PixelMeasuresSequence: [geometry.pixelMeasures],
        PlanePositionSequence: [geometry.planePosition],
        PlaneOrientationSequence: [geometry.planeOrientation],
        ReferencedImageSequence: [{ ...imageReference(instance), PurposeOfReferenceCodeSequence: [codeItem(AiConcept.sourceImagePurpose)] }],
        FrameVOILUTSequence: [{ WindowCenter: 0.5, WindowWidth: 1 }],
        PixelValueTransformationSequence: [{ RescaleIntercept: 0, RescaleSlope: 1, RescaleType: 'US' }],
        ParametricMapFrameTypeSequence: [{ FrameType: ['DERIVED', 'PRIMARY', 'NONE', 'NONE'] }],
      },
    ],
    PerFrameFunctionalGroupsSequence: perFrame,
    DimensionOrganizationSequence: [{ DimensionOrganizationUID: dimensionOrganizationUid }],
    DimensionIndexSequence: [
      {
        DimensionOrganizationUID: dimensionOrganizationUid,
        DimensionIndexPointer: LUT_LABEL,
        FunctionalGroupPointer: REAL_WORLD_VALUE_MAPPING_SEQUENCE,
        DimensionDescriptionLabel: 'Finding',
      },
    ],
    ...commonInstanceReference([instance]),
    // Acquisition Context (Type 2: nothing to say about an acquisition the map did not make)
    AcquisitionContextSequence: [],
  };
  return writePart10(dataset, { keyword: 'FloatPixelData', vr: 'OF', bytes: float32LittleEndian(pixels) });
}
