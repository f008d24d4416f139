/**
 * DICOM UIDs as frozen named constants, and our own UID generation.
 *
 * Our UIDs use the UUID-derived root "2.25." (PS3.5 §B.2): 2.25.<decimal of a random 128-bit
 * number>. That needs no registered organisational root and is unique with overwhelming
 * probability. At most 39 decimal digits + "2.25." = 44 characters, well within the 64 limit.
 */
import { randomBytes } from 'node:crypto';

export const TransferSyntax = Object.freeze({
  ImplicitVRLittleEndian: '1.2.840.10008.1.2',
  ExplicitVRLittleEndian: '1.2.840.10008.1.2.1',
  DeflatedExplicitVRLittleEndian: '1.2.840.10008.1.2.1.99',
  ExplicitVRBigEndian: '1.2.840.10008.1.2.2',
  JpegBaseline: '1.2.840.10008.1.2.4.50',
  JpegExtended: '1.2.840.10008.1.2.4.51',
  JpegLossless: '1.2.840.10008.1.2.4.57',
  JpegLosslessSV1: '1.2.840.10008.1.2.4.70',
  JpegLsLossless: '1.2.840.10008.1.2.4.80',
  JpegLsNearLossless: '1.2.840.10008.1.2.4.81',
  Jpeg2000Lossless: '1.2.840.10008.1.2.4.90',
  Jpeg2000: '1.2.840.10008.1.2.4.91',
  HtJpeg2000Lossless: '1.2.840.10008.1.2.4.201',
  HtJpeg2000RpclLossless: '1.2.840.10008.1.2.4.202',
  HtJpeg2000: '1.2.840.10008.1.2.4.203',
  RleLossless: '1.2.840.10008.1.2.5',
} as const);

export type TransferSyntaxUid = (typeof TransferSyntax)[keyof typeof TransferSyntax];

export const SopClass = Object.freeze({
  ComputedRadiographyImageStorage: '1.2.840.10008.5.1.4.1.1.1',
  DigitalXRayImageStorageForPresentation: '1.2.840.10008.5.1.4.1.1.1.1',
  DigitalXRayImageStorageForProcessing: '1.2.840.10008.5.1.4.1.1.1.1.1',
  CTImageStorage: '1.2.840.10008.5.1.4.1.1.2',
  MRImageStorage: '1.2.840.10008.5.1.4.1.1.4',
  UltrasoundMultiFrameImageStorage: '1.2.840.10008.5.1.4.1.1.3.1',
  NuclearMedicineImageStorage: '1.2.840.10008.5.1.4.1.1.20',
  SecondaryCaptureImageStorage: '1.2.840.10008.5.1.4.1.1.7',
  GrayscaleSoftcopyPresentationStateStorage: '1.2.840.10008.5.1.4.1.1.11.1',
  BasicTextSR: '1.2.840.10008.5.1.4.1.1.88.11',
  EnhancedSR: '1.2.840.10008.5.1.4.1.1.88.22',
  ComprehensiveSR: '1.2.840.10008.5.1.4.1.1.88.33',
  Comprehensive3DSR: '1.2.840.10008.5.1.4.1.1.88.34',
  ParametricMapStorage: '1.2.840.10008.5.1.4.1.1.30',
  EncapsulatedPdfStorage: '1.2.840.10008.5.1.4.1.1.104.1',
  SegmentationStorage: '1.2.840.10008.5.1.4.1.1.66.4',
  RTPlanStorage: '1.2.840.10008.5.1.4.1.1.481.5',
  VerificationSopClass: '1.2.840.10008.1.1',
} as const);

/** Root of every UID we mint: the UUID-derived arc (PS3.5 §B.2). */
export const UUID_UID_ROOT = '2.25.';

/**
 * Our Implementation Class UID, written into (0002,0012). Fixed (derived once from a random UUID)
 * so that receivers can recognise files written by this package.
 */
export const IMPLEMENTATION_CLASS_UID = '2.25.115551670276146421975805453174526795275';
/** Our Implementation Version Name, (0002,0013): SH, at most 16 characters. */
export const IMPLEMENTATION_VERSION_NAME = 'CXR_DICOM_0_1';

/** A new globally unique UID: 2.25.<decimal of a random 128-bit number>. */
export function generateUid(): string {
  const bytes = randomBytes(16);
  const value = BigInt('0x' + bytes.toString('hex'));
  return UUID_UID_ROOT + value.toString(10);
}

/** Largest UID length allowed by PS3.5 §9.1. */
export const MAX_UID_LENGTH = 64;

/**
 * Whether a string is a syntactically valid UID (PS3.5 §9.1): components of digits separated by
 * single dots, no empty component, no leading zero unless the component is "0", at most 64 chars.
 */
export function isValidUid(uid: string): boolean {
  if (uid.length === 0 || uid.length > MAX_UID_LENGTH) return false;
  return /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/.test(uid);
}
