export const FINDING_CODES = ['nodule', 'mass', 'pleural_effusion', 'cardiomegaly', 'pneumothorax'] as const;
export type FindingCode = (typeof FINDING_CODES)[number];
export type Side = 'right' | 'left';
export type Zone = 'upper' | 'middle' | 'lower';
export type Tier = 'obvious' | 'subtle';

/** A finding to force into a phantom; omitted fields are drawn at random. */
export interface FindingSpec {
  code: FindingCode;
  /** Patient side (patient's right is on the image left of a PA view). Ignored for cardiomegaly. */
  side?: Side;
  zone?: Zone;
  tier?: Tier;
  sizeMm?: number;
}

export interface PhantomOptions {
  seed: number;
  /** Width in pixels (default 128). */
  size?: number;
  /** Height / width (default 1). */
  aspect?: number;
  /** Tier of every random or forced finding that does not name its own. */
  tier?: Tier;
  /** Forces the findings; `[]` makes a normal study. Omitted: a random mix (see `sampleFindingSpecs`). */
  findings?: FindingSpec[];
}

export interface Finding {
  code: FindingCode;
  side: Side | null;
  zone: Zone | null;
  sizeMm: number;
  tier: Tier;
  /** Cardiothoracic ratio, for cardiomegaly only. */
  ctr?: number;
  /** Ground truth, width*height, 1 inside the finding. */
  mask: Uint8Array;
}

export interface ReportText {
  findings: string;
  impression: string;
}

export interface Phantom {
  seed: number;
  width: number;
  height: number;
  /** Row-major, [0,1], 1 = most attenuating = brightest on a MONOCHROME2 display. */
  pixels: Float32Array;
  pixelSpacingMm: number;
  findings: Finding[];
  labels: Record<FindingCode, 0 | 1>;
  reportText: ReportText;
  /** Cardiothoracic ratio of this phantom (normal or not). */
  ctr: number;
}
