/**
 * Named DICOM tags in dicom-parser's 'xGGGGEEEE' form (lower-case hex).
 *
 * Only this package uses raw tag strings (house style §7): everything else names tags by these
 * constants. The writer turns the same constants into group/element numbers with `tagNumbers`.
 */

export const Tag = Object.freeze({
  // File Meta Information (group 0002)
  FileMetaInformationGroupLength: 'x00020000',
  FileMetaInformationVersion: 'x00020001',
  MediaStorageSopClassUid: 'x00020002',
  MediaStorageSopInstanceUid: 'x00020003',
  TransferSyntaxUid: 'x00020010',
  ImplementationClassUid: 'x00020012',
  ImplementationVersionName: 'x00020013',
  SourceApplicationEntityTitle: 'x00020016',

  // SOP Common / General Study / Series / Equipment / Image
  SpecificCharacterSet: 'x00080005',
  ImageType: 'x00080008',
  InstanceCreationDate: 'x00080012',
  InstanceCreationTime: 'x00080013',
  SopClassUid: 'x00080016',
  SopInstanceUid: 'x00080018',
  StudyDate: 'x00080020',
  SeriesDate: 'x00080021',
  ContentDate: 'x00080023',
  StudyTime: 'x00080030',
  SeriesTime: 'x00080031',
  ContentTime: 'x00080033',
  AccessionNumber: 'x00080050',
  Modality: 'x00080060',
  PresentationIntentType: 'x00080068',
  Manufacturer: 'x00080070',
  ReferringPhysicianName: 'x00080090',
  StudyDescription: 'x00081030',
  AdmittingDiagnosesDescription: 'x00081080',
  AdditionalPatientHistory: 'x001021b0',
  RequestedProcedureDescription: 'x00321060',
  ScheduledProcedureStepDescription: 'x00400007',
  ReasonForTheRequestedProcedure: 'x00401002',
  RequestAttributesSequence: 'x00400275',
  // SR Document General and Content modules (PS3.3 C.17.2, C.17.3): what the second read takes report text from.
  RelationshipType: 'x0040a010',
  ValueType: 'x0040a040',
  ConceptNameCodeSequence: 'x0040a043',
  TextValue: 'x0040a160',
  CompletionFlag: 'x0040a491',
  VerificationFlag: 'x0040a493',
  ContentSequence: 'x0040a730',
  SeriesDescription: 'x0008103e',
  ManufacturerModelName: 'x00081090',
  AnatomicRegionSequence: 'x00082218',
  CodeValue: 'x00080100',
  CodingSchemeDesignator: 'x00080102',
  CodeMeaning: 'x00080104',
  DerivationDescription: 'x00082111',

  // Patient
  PatientName: 'x00100010',
  PatientId: 'x00100020',
  IssuerOfPatientId: 'x00100021',
  PatientBirthDate: 'x00100030',
  PatientSex: 'x00100040',
  PatientAge: 'x00101010',

  // Acquisition
  BodyPartExamined: 'x00180015',
  SoftwareVersions: 'x00181020',
  ImagerPixelSpacing: 'x00181164',
  ViewPosition: 'x00185101',
  DetectorType: 'x00187004',

  // Relationship
  StudyInstanceUid: 'x0020000d',
  SeriesInstanceUid: 'x0020000e',
  StudyId: 'x00200010',
  SeriesNumber: 'x00200011',
  InstanceNumber: 'x00200013',
  PatientOrientation: 'x00200020',
  Laterality: 'x00200060',
  ImageLaterality: 'x00200062',

  // Image Pixel
  SamplesPerPixel: 'x00280002',
  PhotometricInterpretation: 'x00280004',
  PlanarConfiguration: 'x00280006',
  NumberOfFrames: 'x00280008',
  Rows: 'x00280010',
  Columns: 'x00280011',
  PixelSpacing: 'x00280030',
  BitsAllocated: 'x00280100',
  BitsStored: 'x00280101',
  HighBit: 'x00280102',
  PixelRepresentation: 'x00280103',
  PixelIntensityRelationship: 'x00281040',
  PixelIntensityRelationshipSign: 'x00281041',
  WindowCenter: 'x00281050',
  WindowWidth: 'x00281051',
  RescaleIntercept: 'x00281052',
  RescaleSlope: 'x00281053',
  RescaleType: 'x00281054',
  VoiLutFunction: 'x00281056',
  BurnedInAnnotation: 'x00280301',
  LossyImageCompression: 'x00282110',
  ModalityLutSequence: 'x00283000',
  LutDescriptor: 'x00283002',
  ModalityLutType: 'x00283004',
  LutData: 'x00283006',
  VoiLutSequence: 'x00283010',

  // Requested procedure / scheduling / acquisition context
  RequestedProcedurePriority: 'x00401003',
  AcquisitionContextSequence: 'x00400555',

  // Presentation
  PresentationLutShape: 'x20500020',

  // Pixel data
  FloatPixelData: 'x7fe00008',
  DoubleFloatPixelData: 'x7fe00009',
  PixelData: 'x7fe00010',
} as const);

export type TagKey = (typeof Tag)[keyof typeof Tag];

/** Group and element numbers of a tag in 'xGGGGEEEE' form. */
export function tagNumbers(tag: string): { group: number; element: number } {
  if (!/^x[0-9a-f]{8}$/.test(tag)) throw new TypeError(`not a tag in xGGGGEEEE form: ${tag}`);
  return { group: parseInt(tag.slice(1, 5), 16), element: parseInt(tag.slice(5, 9), 16) };
}

/** Human form "(GGGG,EEEE)" of a tag, for error messages. */
export function formatTag(tag: string): string {
  return `(${tag.slice(1, 5).toUpperCase()},${tag.slice(5, 9).toUpperCase()})`;
}
