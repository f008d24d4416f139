import type { DicomJsonDataset } from '@cxr/dicom';

/**
 * The physical size of a pixel of the presentation image (mm), for the report to state measured
 * sizes. Pixel Spacing (0028,0030) is preferred, being calibrated to the patient where the
 * modality sets it; else Imager Pixel Spacing (0018,1164), at the detector (a projection
 * radiograph's few per cent of magnification are not corrected). Scaled by how much the
 * presentation image was shrunk. Undefined when neither is present, a value is not a positive
 * number, or the pixels are not square (within 2%): a size in mm is then left out, never guessed.
 */

const PIXEL_SPACING = '00280030';
const IMAGER_PIXEL_SPACING = '00181164';
/** As the analysis request's schema bounds it. */
const MAX_SPACING_MM = 10;

function spacingOf(metadata: DicomJsonDataset, tag: string): [number, number] | undefined {
  const values = metadata[tag]?.Value;
  if (!values || values.length < 2) return undefined;
  const [row, column] = values;
  return typeof row === 'number' && typeof column === 'number' && row > 0 && column > 0 ? [row, column] : undefined;
}

export function presentationPixelSpacingMm(metadata: DicomJsonDataset, originalWidth: number, presentationWidth: number): number | undefined {
  const spacing = spacingOf(metadata, PIXEL_SPACING) ?? spacingOf(metadata, IMAGER_PIXEL_SPACING);
  if (!spacing || !(originalWidth > 0) || !(presentationWidth > 0)) return undefined;
  const [row, column] = spacing;
  if (Math.abs(row - column) > 0.02 * Math.max(row, column)) return undefined;
  const scaled = column * (originalWidth / presentationWidth);
  return Number.isFinite(scaled) && scaled <= MAX_SPACING_MM ? scaled : undefined;
}
