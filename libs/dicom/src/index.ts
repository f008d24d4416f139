// @cxr/dicom: DICOM parsing and validation, pixel decoding, the grey-scale display pipeline, and
// a Part 10 writer. Raw tag strings stay inside this package; use `Tag` and the UID constants.
export { Tag, tagNumbers, formatTag, type TagKey } from './tags.ts';
export {
  TransferSyntax,
  SopClass,
  UUID_UID_ROOT,
  IMPLEMENTATION_CLASS_UID,
  IMPLEMENTATION_VERSION_NAME,
  MAX_UID_LENGTH,
  generateUid,
  isValidUid,
  type TransferSyntaxUid,
} from './uids.ts';
export {
  DicomError,
  DicomParseError,
  DicomValidationError,
  UnsupportedTransferSyntaxError,
  PixelDataError,
} from './errors.ts';
export {
  encodeFileMetaInformation,
  readFileMetaInformation,
  PREAMBLE_LENGTH,
  DICM_PREFIX,
  type FileMetaInformation,
  type ReadFileMetaInformation,
} from './file-meta.ts';
export {
  parseInstance,
  DEFAULT_MAX_BYTES,
  MAX_NUMBER_OF_FRAMES,
  type ParsedInstance,
  type ParseOptions,
} from './parse.ts';
export { initializeCodecs, codecsReady, CodecsNotReadyError } from './codecs.ts';
export {
  decodeFrame,
  decodeFrameAsync,
  canDecodeTransferSyntax,
  needsCodecs,
  DECODABLE_TRANSFER_SYNTAXES,
  MAX_FRAME_BYTES,
  type DecodedFrame,
  type PixelArray,
} from './pixel-data.ts';
export {
  IsolatedFrameDecoder,
  DecoderWorkerError,
  type IsolatedFrameDecoderOptions,
} from './isolated-frame-decoder.ts';
export {
  toPresentation,
  voiSourceOf,
  windowFunction,
  type PresentationImage,
  type PresentationOptions,
  type VoiSource,
} from './greyscale.ts';
export {
  encodeElement,
  encodeDataSet,
  encodeEncapsulatedPixelData,
  formatDecimalString,
  DicomWriteError,
  type DataElement,
  type ElementValue,
  type Vr,
} from './writer.ts';
export {
  writeGreyImageInstance,
  fullRangeWindow,
  MANUFACTURER,
  type GreyImageInstanceInput,
} from './grey-image-instance.ts';
export { cleanPatientAge, deidentifyMetadata, DEIDENTIFICATION_METHOD, MAX_KEPT_AGE_YEARS, type DicomJsonDataset, type DicomJsonAttribute } from './deidentify.ts';
export { readOrderAttributes, type OrderAttributes } from './order-attributes.ts';
export { isTextSr, readSrReportText, TEXT_SR_SOP_CLASSES, MAX_SR_TEXT_CHARS, type SrReportText } from './sr-text.ts';
export { writeTextSr, type TextSrInput } from './text-sr-writer.ts';
