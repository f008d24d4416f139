/**
 * writeGreyImageInstance: a grey image (0..1, 1 = dense = bright on a MONOCHROME2 display) as a
 * DX "For Presentation" or CR Part 10 file in explicit VR little endian.
 *
 * Choices, and why:
 * - Stored values are round(v × (2^bitsStored − 1)), inverted for MONOCHROME1, so that the
 *   standard pipeline (rescale, then the default full-range window, then MONOCHROME1 inversion)
 *   gives back the input to within one stored-value step.
 * - The default window covers exactly the stored range through the rescale: with the LINEAR
 *   function, width = range + 1 and centre = low + range/2 + 0.5 map the lowest modality value to
 *   black and the highest to white.
 * - Priority goes in Requested Procedure Priority (0040,1003) at the top level of the data set.
 *   The image IODs have no priority attribute; that is the attribute worklists use for it, and
 *   parseInstance reads it back from there (it is harmless to viewers, which ignore it).
 * - DX: Presentation LUT Shape IDENTITY for MONOCHROME2 and INVERSE for MONOCHROME1, as the DX
 *   Image module requires; Pixel Intensity Relationship LIN with the sign that matches the
 *   polarity (dense = less X-ray intensity = higher values for MONOCHROME2).
 */
import { encodeFileMetaInformation } from './file-meta.ts';
import { Tag } from './tags.ts';
import { isValidUid, SopClass, TransferSyntax } from './uids.ts';
import { DicomWriteError, encodeDataSet, type DataElement } from './writer.ts';

export interface GreyImageInstanceInput {
  image: { width: number; height: number; data: Float32Array /* 0..1, 1 = dense/bright on a MONOCHROME2 display */ };
  pixelSpacingMm: number;
  modality: 'DX' | 'CR';
  photometric: 'MONOCHROME2' | 'MONOCHROME1';
  /** 8..16; default 12. */
  bitsStored?: number;
  /** `age`: Patient's Age (0010,1010) as an AS value, e.g. `045Y`. */
  patient: { id: string; name: string; birthDate?: string; sex?: 'M' | 'F' | 'O'; age?: string };
  /** General Equipment: Manufacturer (default MANUFACTURER) and Manufacturer's Model Name. */
  equipment?: { manufacturer?: string; modelName?: string };
  study: {
    instanceUid: string;
    id?: string;
    accessionNumber?: string;
    /** YYYYMMDD; default today (UTC). */
    date?: string;
    /** HHMMSS; default now (UTC). */
    time?: string;
    description?: string;
    /** Written as Requested Procedure Priority (0040,1003). */
    priority?: 'STAT' | 'ROUTINE';
  };
  /**
   * The order as a RIS fills it in: the reason and the requested procedure in one Request Attributes
   * Sequence (0040,0275) item, the history as Additional Patient History (0010,21B0).
   */
  order?: { reason?: string; requestedProcedureDescription?: string; history?: string };
  series: { instanceUid: string; number?: number; description?: string };
  sopInstanceUid: string;
  instanceNumber?: number;
  /** Body Part Examined; default CHEST. */
  bodyPart?: string;
  /** Default PA. */
  viewPosition?: 'PA' | 'AP' | 'LL';
  windowCenter?: number;
  windowWidth?: number;
  rescaleSlope?: number;
  rescaleIntercept?: number;
}

/** What we write as Manufacturer (0008,0070) so our objects are recognisable. */
export const MANUFACTURER = 'CXR-ASSIST';

/** Stored value for an input value (before MONOCHROME1 inversion). */
export function quantise(value: number, bitsStored: number): number {
  const max = 2 ** bitsStored - 1;
  const v = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0;
  return Math.round(v * max);
}

/** The LINEAR window (PS3.3 C.11.2.1.2) mapping modality values low..high exactly onto black..white. */
export function fullRangeWindow(low: number, high: number): { center: number; width: number } {
  return { center: low + (high - low) / 2 + 0.5, width: high - low + 1 };
}

export function writeGreyImageInstance(input: GreyImageInstanceInput): Buffer {
  const { image, modality, photometric } = input;
  const bitsStored = input.bitsStored ?? 12;
  if (!Number.isInteger(bitsStored) || bitsStored < 8 || bitsStored > 16) {
    throw new DicomWriteError('bitsStored must be an integer from 8 to 16');
  }
  if (!Number.isInteger(image.width) || !Number.isInteger(image.height) || image.width < 1 || image.height < 1 || image.width > 65535 || image.height > 65535) {
    throw new DicomWriteError('image width and height must be integers from 1 to 65535');
  }
  if (image.data.length !== image.width * image.height) {
    throw new DicomWriteError(`image data has ${image.data.length} values, expected ${image.width * image.height}`);
  }
  if (!(input.pixelSpacingMm > 0) || !Number.isFinite(input.pixelSpacingMm)) {
    throw new DicomWriteError('pixelSpacingMm must be a positive number');
  }
  for (const [name, uid] of [
    ['study.instanceUid', input.study.instanceUid],
    ['series.instanceUid', input.series.instanceUid],
    ['sopInstanceUid', input.sopInstanceUid],
  ] as const) {
    if (!isValidUid(uid)) throw new DicomWriteError(`${name} is not a valid UID`);
  }
  const slope = input.rescaleSlope ?? 1;
  const intercept = input.rescaleIntercept ?? 0;
  if (!Number.isFinite(slope) || slope === 0 || !Number.isFinite(intercept)) {
    throw new DicomWriteError('rescaleSlope must be finite and non-zero, rescaleIntercept finite');
  }
  if ((input.windowCenter === undefined) !== (input.windowWidth === undefined)) {
    throw new DicomWriteError('windowCenter and windowWidth must be given together');
  }
  if (input.windowWidth !== undefined && !(input.windowWidth >= 1)) {
    throw new DicomWriteError('windowWidth must be at least 1');
  }

  const maxStored = 2 ** bitsStored - 1;
  const pixels = new Uint16Array(image.data.length);
  const invert = photometric === 'MONOCHROME1';
  for (let i = 0; i < pixels.length; i++) {
    const stored = quantise(image.data[i]!, bitsStored);
    pixels[i] = invert ? maxStored - stored : stored;
  }
  const modalityLow = Math.min(intercept, slope * maxStored + intercept);
  const modalityHigh = Math.max(intercept, slope * maxStored + intercept);
  const window =
    input.windowCenter !== undefined && input.windowWidth !== undefined
      ? { center: input.windowCenter, width: input.windowWidth }
      : fullRangeWindow(modalityLow, modalityHigh);

  const now = new Date();
  const today = now.toISOString().slice(0, 10).replaceAll('-', '');
  const nowTime = now.toISOString().slice(11, 19).replaceAll(':', '');
  const studyDate = input.study.date ?? today;
  const studyTime = input.study.time ?? nowTime;
  const sopClassUid = modality === 'DX' ? SopClass.DigitalXRayImageStorageForPresentation : SopClass.ComputedRadiographyImageStorage;
  const viewPosition = input.viewPosition ?? 'PA';
  const bodyPart = (input.bodyPart ?? 'CHEST').toUpperCase();
  const spacing = [input.pixelSpacingMm, input.pixelSpacingMm];

  const elements: DataElement[] = [
    // SOP Common
    { tag: Tag.SpecificCharacterSet, vr: 'CS', value: 'ISO_IR 100' },
    { tag: Tag.ImageType, vr: 'CS', value: ['DERIVED', 'PRIMARY'] },
    { tag: Tag.InstanceCreationDate, vr: 'DA', value: today },
    { tag: Tag.InstanceCreationTime, vr: 'TM', value: nowTime },
    { tag: Tag.SopClassUid, vr: 'UI', value: sopClassUid },
    { tag: Tag.SopInstanceUid, vr: 'UI', value: input.sopInstanceUid },
    // Patient
    { tag: Tag.PatientName, vr: 'PN', value: input.patient.name },
    { tag: Tag.PatientId, vr: 'LO', value: input.patient.id },
    { tag: Tag.PatientBirthDate, vr: 'DA', value: input.patient.birthDate ?? '' },
    { tag: Tag.PatientSex, vr: 'CS', value: input.patient.sex ?? '' },
    ...(input.patient.age !== undefined ? [{ tag: Tag.PatientAge, vr: 'AS' as const, value: input.patient.age }] : []),
    // General Study
    { tag: Tag.StudyInstanceUid, vr: 'UI', value: input.study.instanceUid },
    { tag: Tag.StudyDate, vr: 'DA', value: studyDate },
    { tag: Tag.StudyTime, vr: 'TM', value: studyTime },
    { tag: Tag.ReferringPhysicianName, vr: 'PN', value: '' },
    { tag: Tag.StudyId, vr: 'SH', value: input.study.id ?? '' },
    { tag: Tag.AccessionNumber, vr: 'SH', value: input.study.accessionNumber ?? '' },
    // General Series (+ DX Series)
    { tag: Tag.Modality, vr: 'CS', value: modality },
    { tag: Tag.SeriesInstanceUid, vr: 'UI', value: input.series.instanceUid },
    { tag: Tag.SeriesNumber, vr: 'IS', value: input.series.number ?? 1 },
    { tag: Tag.SeriesDate, vr: 'DA', value: studyDate },
    { tag: Tag.SeriesTime, vr: 'TM', value: studyTime },
    // General Equipment
    { tag: Tag.Manufacturer, vr: 'LO', value: input.equipment?.manufacturer ?? MANUFACTURER },
    ...(input.equipment?.modelName !== undefined ? [{ tag: Tag.ManufacturerModelName, vr: 'LO' as const, value: input.equipment.modelName }] : []),
    // General Image / acquisition
    { tag: Tag.InstanceNumber, vr: 'IS', value: input.instanceNumber ?? 1 },
    // Rows go to the patient's left and columns to the feet for a frontal film shown as if facing
    // the patient; a lateral is shown facing the viewer's left (rows go posterior).
    { tag: Tag.PatientOrientation, vr: 'CS', value: viewPosition === 'LL' ? ['P', 'F'] : ['L', 'F'] },
    { tag: Tag.ContentDate, vr: 'DA', value: studyDate },
    { tag: Tag.ContentTime, vr: 'TM', value: studyTime },
    { tag: Tag.BodyPartExamined, vr: 'CS', value: bodyPart },
    { tag: Tag.ViewPosition, vr: 'CS', value: viewPosition },
    { tag: Tag.AcquisitionContextSequence, vr: 'SQ', value: [] },
    // Image Pixel
    { tag: Tag.SamplesPerPixel, vr: 'US', value: 1 },
    { tag: Tag.PhotometricInterpretation, vr: 'CS', value: photometric },
    { tag: Tag.Rows, vr: 'US', value: image.height },
    { tag: Tag.Columns, vr: 'US', value: image.width },
    { tag: Tag.PixelSpacing, vr: 'DS', value: spacing },
    { tag: Tag.BitsAllocated, vr: 'US', value: 16 },
    { tag: Tag.BitsStored, vr: 'US', value: bitsStored },
    { tag: Tag.HighBit, vr: 'US', value: bitsStored - 1 },
    { tag: Tag.PixelRepresentation, vr: 'US', value: 0 },
    { tag: Tag.BurnedInAnnotation, vr: 'CS', value: 'NO' },
    // Modality LUT and VOI LUT
    { tag: Tag.WindowCenter, vr: 'DS', value: window.center },
    { tag: Tag.WindowWidth, vr: 'DS', value: window.width },
    { tag: Tag.RescaleIntercept, vr: 'DS', value: intercept },
    { tag: Tag.RescaleSlope, vr: 'DS', value: slope },
    { tag: Tag.LossyImageCompression, vr: 'CS', value: '00' },
    { tag: Tag.PixelData, vr: 'OW', value: pixels },
  ];
  if (input.study.description !== undefined) elements.push({ tag: Tag.StudyDescription, vr: 'LO', value: input.study.description });
  if (input.series.description !== undefined) elements.push({ tag: Tag.SeriesDescription, vr: 'LO', value: input.series.description });
  if (input.study.priority !== undefined) elements.push({ tag: Tag.RequestedProcedurePriority, vr: 'CS', value: input.study.priority });
  const order = input.order;
  if (order?.history !== undefined) elements.push({ tag: Tag.AdditionalPatientHistory, vr: 'LT', value: order.history });
  if (order?.reason !== undefined || order?.requestedProcedureDescription !== undefined) {
    const item: DataElement[] = [];
    if (order.requestedProcedureDescription !== undefined) item.push({ tag: Tag.RequestedProcedureDescription, vr: 'LO', value: order.requestedProcedureDescription });
    if (order.reason !== undefined) item.push({ tag: Tag.ReasonForTheRequestedProcedure, vr: 'LO', value: order.reason });
    elements.push({ tag: Tag.RequestAttributesSequence, vr: 'SQ', value: [item] });
  }
  if (bodyPart === 'CHEST') {
    elements.push({
      tag: Tag.AnatomicRegionSequence,
      vr: 'SQ',
      value: [
        [
          { tag: Tag.CodeValue, vr: 'SH', value: '43799004' },
          { tag: Tag.CodingSchemeDesignator, vr: 'SH', value: 'SCT' },
          { tag: Tag.CodeMeaning, vr: 'LO', value: 'Chest' },
        ],
      ],
    });
  }
  if (modality === 'DX') {
    elements.push(
      { tag: Tag.PresentationIntentType, vr: 'CS', value: 'FOR PRESENTATION' },
      { tag: Tag.ImagerPixelSpacing, vr: 'DS', value: spacing },
      { tag: Tag.DetectorType, vr: 'CS', value: '' },
      { tag: Tag.ImageLaterality, vr: 'CS', value: 'U' },
      { tag: Tag.RescaleType, vr: 'LO', value: 'US' },
      { tag: Tag.PixelIntensityRelationship, vr: 'CS', value: 'LIN' },
      // -1: higher values = less X-ray intensity (dense, bright on MONOCHROME2).
      { tag: Tag.PixelIntensityRelationshipSign, vr: 'SS', value: invert ? 1 : -1 },
      { tag: Tag.PresentationLutShape, vr: 'CS', value: invert ? 'INVERSE' : 'IDENTITY' },
    );
  }

  const meta = encodeFileMetaInformation({
    mediaStorageSopClassUid: sopClassUid,
    mediaStorageSopInstanceUid: input.sopInstanceUid,
    transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian,
  });
  return Buffer.concat([meta, encodeDataSet(elements)]);
}
