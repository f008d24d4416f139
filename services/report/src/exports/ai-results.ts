/**
 * What the AI-result objects (TID 1500 measurement report, Parametric Map, fractional and binary Segmentation)
 * share: how they say they are AI results, their series, the model as a device, and the
 * finding heatmaps as probability grids over a source image.
 *
 * Choices, and why:
 * - The heatmap is the model's own map (sigmoid of its spatial logit map, 0..1, about 32 cells a
 *   side, stored as an 8-bit grey PNG covering exactly the image's extent). The PMAP and SEG carry
 *   it resampled (bilinear, sampled at cell centres as the worker crops it) onto the source image's
 *   own pixel grid, so a viewer can lay a frame over the image pixel for pixel, with no geometry
 *   (projection radiographs rarely have a Frame of Reference). Images larger than
 *   `MAX_GRID_SIDE` on a side get a grid reduced by a whole factor (1/2, 1/3, ...), said in the
 *   object (Spatial Locations Preserved NO, Derivation Description), so an object stays tens of MB.
 * - One series per kind and analysis version; UIDs derive from study, analysis version and image,
 *   so sending again gives the PACS the same objects.
 */
import sharp from 'sharp';
import type { ReportFinding, ReportResponse } from '@cxr/contracts';
import { MANUFACTURER } from '@cxr/dicom';
import { codeItem, derivedUid, findingConcept, fitText, LOCAL_SCHEME, type CodedConcept, type NaturalDataset } from './part10.ts';
import type { SourceInstance, SourceStudy } from './source-study.ts';

/** The wording every AI-result object carries (IHE AIR: a result says it is an AI result). */
export const AI_RESULT_NOTICE = 'AI generated, not clinically validated, trained on synthetic images';

export const AiSeries = Object.freeze({
  measurementReport: { number: 902, description: 'AI results: measurement report (AI generated, not validated)', uidName: 'ai-sr' },
  parametricMap: { number: 903, description: 'AI results: probability maps (AI generated, not validated)', uidName: 'ai-pmap' },
  segmentation: { number: 904, description: 'AI results: probability segments (AI generated, not validated)', uidName: 'ai-seg' },
  binarySegmentation: { number: 905, description: 'AI results: finding areas (AI generated, not validated)', uidName: 'ai-seg-binary' },
});
export type AiSeriesKind = keyof typeof AiSeries;

/** Longest side of a PMAP/SEG grid: larger images get a grid reduced by a whole factor. */
export const MAX_GRID_SIDE = 2048;

export const AiConcept = Object.freeze({
  sourceImagePurpose: { value: '121322', scheme: 'DCM', meaning: 'Source image for image processing operation' },
  /** Segmented Property Category of every finding segment. */
  clinicalFinding: { value: '404684003', scheme: 'SCT', meaning: 'Clinical finding' },
  probability: { value: '{probability}', scheme: 'UCUM', meaning: 'probability' },
} satisfies Record<string, CodedConcept>);

/** SOP Common's Coding Scheme Identification: the local scheme of the model's uncoded findings (PS3.3 C.12.1.1.2). */
export function codingSchemeIdentification(): NaturalDataset {
  return {
    CodingSchemeIdentificationSequence: [
      { CodingSchemeDesignator: LOCAL_SCHEME, CodingSchemeName: 'CXR-ASSIST model finding codes', CodingSchemeResponsibleOrganization: MANUFACTURER },
    ],
  };
}

/** The UIDs of one AI-result object: per study and analysis version (SR), and per image (PMAP, SEG). */
export function aiResultUids(report: ReportResponse, kind: AiSeriesKind, sopInstanceUid?: string): { seriesInstanceUid: string; sopInstanceUid: string } {
  const version = String(report.analysisVersion);
  return {
    seriesInstanceUid: derivedUid(`${AiSeries[kind].uidName}-series`, report.studyInstanceUid, version),
    sopInstanceUid: derivedUid(AiSeries[kind].uidName, report.studyInstanceUid, version, ...(sopInstanceUid ? [sopInstanceUid] : [])),
  };
}

/** The model as the General and Enhanced General Equipment of an object (all four Type 1 in the enhanced module). */
export function equipmentModule(report: ReportResponse): NaturalDataset {
  const model = report.model;
  return {
    Manufacturer: MANUFACTURER,
    ManufacturerModelName: fitText(model?.id ?? 'unknown model', 'LO'),
    // The model's digest identifies this exact model build: its first 16 hex digits as the "serial number".
    DeviceSerialNumber: model ? model.sha256.slice(0, 16) : 'unknown',
    SoftwareVersions: fitText(model?.version ?? 'unknown', 'LO'),
  };
}

/** The model's identity as a Device Observer UID (the same in every export of the same model build). */
export function deviceObserverUid(report: ReportResponse): string | null {
  return report.model ? derivedUid('device', report.model.id, report.model.version, report.model.sha256) : null;
}

/** A reference to a source image, for Source Image / Referenced Image sequences. */
export function imageReference(instance: SourceInstance): NaturalDataset {
  return { ReferencedSOPClassUID: instance.sopClassUid, ReferencedSOPInstanceUID: instance.sopInstanceUid };
}

/** Common Instance Reference module: the series of the referenced images. */
export function commonInstanceReference(instances: SourceInstance[]): NaturalDataset {
  const bySeries = new Map<string, SourceInstance[]>();
  for (const instance of instances) bySeries.set(instance.seriesInstanceUid, [...(bySeries.get(instance.seriesInstanceUid) ?? []), instance]);
  return {
    ReferencedSeriesSequence: [...bySeries].map(([seriesInstanceUid, members]) => ({
      SeriesInstanceUID: seriesInstanceUid,
      ReferencedInstanceSequence: members.map(imageReference),
    })),
  };
}

/** The finding's concept as a code sequence item (SNOMED CT / RadLex when the model's label is coded, else the model's own code). */
export function findingCodeItem(finding: ReportFinding): NaturalDataset {
  return codeItem(findingConcept(finding));
}

/** A probability grid (row-major, 0..1). */
export interface ProbabilityGrid {
  width: number;
  height: number;
  data: Float32Array;
}

/** A finding's heatmap PNG (8-bit grey) as probabilities 0..1. */
export async function decodeHeatmap(png: Buffer): Promise<ProbabilityGrid> {
  const { data, info } = await sharp(png).greyscale().raw().toBuffer({ resolveWithObject: true });
  const grid = new Float32Array(info.width * info.height);
  for (let i = 0; i < grid.length; i++) grid[i] = data[i * info.channels]! / 255;
  return { width: info.width, height: info.height, data: grid };
}

/** The heatmaps of one image that a PMAP or SEG is made of, in the report's finding order. */
export interface ImageHeatmaps {
  instance: SourceInstance;
  findings: Array<{ finding: ReportFinding; heatmap: ProbabilityGrid }>;
}

/** The source image has no known size (Rows/Columns), so no map can be laid over it. */
export class UnsizedSourceImageError extends Error {
  readonly permanent = true;
  constructor() {
    super('the source image has no Rows/Columns, so an AI map cannot be registered to it');
    this.name = 'UnsizedSourceImageError';
  }
}

/** The grid a PMAP/SEG of an image has: its own rows and columns, reduced by `factor` when larger than MAX_GRID_SIDE. */
export function resultGrid(instance: SourceInstance): { rows: number; columns: number; factor: number } {
  if (!instance.rows || !instance.columns) throw new UnsizedSourceImageError();
  const factor = Math.max(1, Math.ceil(Math.max(instance.rows, instance.columns) / MAX_GRID_SIDE));
  return { rows: Math.ceil(instance.rows / factor), columns: Math.ceil(instance.columns / factor), factor };
}

/** Resamples a heatmap bilinearly onto a `columns` x `rows` grid covering the same extent. */
export function resampleGrid(map: ProbabilityGrid, columns: number, rows: number): Float32Array {
  const out = new Float32Array(columns * rows);
  const maxX = map.width - 1;
  const maxY = map.height - 1;
  for (let j = 0; j < rows; j++) {
    const gy = Math.min(maxY, Math.max(0, ((j + 0.5) * map.height) / rows - 0.5));
    const y0 = Math.floor(gy);
    const y1 = Math.min(maxY, y0 + 1);
    const fy = gy - y0;
    for (let i = 0; i < columns; i++) {
      const gx = Math.min(maxX, Math.max(0, ((i + 0.5) * map.width) / columns - 0.5));
      const x0 = Math.floor(gx);
      const x1 = Math.min(maxX, x0 + 1);
      const fx = gx - x0;
      const a = map.data[y0 * map.width + x0]!;
      const b = map.data[y0 * map.width + x1]!;
      const c = map.data[y1 * map.width + x0]!;
      const d = map.data[y1 * map.width + x1]!;
      out[j * columns + i] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    }
  }
  return out;
}

/** How a PMAP/SEG frame was made, in words (Derivation Description, ST). */
export function mapDerivation(report: ReportResponse, what: string, factor: number): string {
  const model = report.model ? `${report.model.id} ${report.model.version}` : 'the AI model';
  return fitText(
    `${what} of ${model}: the model's per-finding heatmap (sigmoid of its spatial logit map, about 32 cells a side, ` +
      `quantised to 1/255) resampled bilinearly onto the source image's pixel grid` +
      `${factor > 1 ? ` reduced by a factor of ${factor} in each direction` : ''}. ${AI_RESULT_NOTICE}; not for diagnosis.`,
    'ST',
  );
}

/**
 * The plane geometry of a PMAP's frames (the IOD makes it mandatory): in a Frame of Reference of
 * its own, derived from the source image, that stands for the source image's pixel plane and means
 * nothing else. Its origin is the first pixel and its orientation is always the identity
 * [1,0,0, 0,1,0] (rows along x, columns along y), whatever the source's Patient Orientation says:
 * a projection radiograph has no Image Orientation (Patient), so viewers (cornerstone, hence OHIF)
 * place it on exactly that default plane, and a map claiming the anatomical plane of its
 * Patient Orientation (["L", "F"] would be coronal, [1,0,0, 0,0,-1]) is then "oblique" to the
 * image it was derived from and is refused. The identity puts the map's pixel (i, j) over the
 * source's pixel (i, j), which is all the frame of reference means; the anatomical labels stay in
 * the source image's Patient Orientation, referenced by every frame. Its spacing is the source's
 * Pixel Spacing or Imager Pixel Spacing (times the grid's reduction), or 1 mm when none is given.
 */
export function planeGeometry(instance: SourceInstance, factor: number): {
  frameOfReferenceUid: string;
  pixelMeasures: NaturalDataset;
  planePosition: NaturalDataset;
  planeOrientation: NaturalDataset;
} {
  const spacing = (instance.pixelSpacingMm ?? [1, 1]).map((v) => Number((v * factor).toPrecision(8)));
  return {
    frameOfReferenceUid: derivedUid('frame-of-reference', instance.sopInstanceUid),
    pixelMeasures: { PixelSpacing: spacing, SliceThickness: 1 },
    planePosition: { ImagePositionPatient: [0, 0, 0] },
    planeOrientation: { ImageOrientationPatient: [1, 0, 0, 0, 1, 0] },
  };
}

/** The instances of a study the report's findings are on, in study order. */
export function analysedInstances(report: ReportResponse, source: SourceStudy): SourceInstance[] {
  const wanted = new Set(report.findings.map((f) => f.sopInstanceUid));
  return source.instances.filter((i) => wanted.has(i.sopInstanceUid));
}
