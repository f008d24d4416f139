// generatePhantom: the one synthetic CXR generator used for training data, test DICOM instances,
// the demo and evaluation. Same options → bit-identical output.
import { FIELD_OF_VIEW_MM, sampleAnatomy } from './anatomy.ts';
import { placeFindings, sampleFindingSpecs } from './findings.ts';
import { renderPhantom } from './render.ts';
import { writeReport } from './report.ts';
import { createRng } from './rng.ts';
import { FINDING_CODES, type FindingCode, type Phantom, type PhantomOptions } from './types.ts';

export function generatePhantom(options: PhantomOptions): Phantom {
  const size = options.size ?? 128;
  const aspect = options.aspect ?? 1;
  if (!Number.isInteger(size) || size < 16) throw new RangeError(`size must be an integer >= 16, got ${size}`);
  if (!(aspect >= 0.5 && aspect <= 2)) throw new RangeError(`aspect must be within [0.5, 2], got ${aspect}`);
  const width = size;
  const height = Math.round(size * aspect);
  // Independent streams: anatomy, finding choice and finding placement, so that forcing findings
  // does not change the anatomy drawn for a seed.
  const anatomy = sampleAnatomy(createRng(options.seed));
  const specs = options.findings ?? sampleFindingSpecs(createRng(options.seed ^ 0x51ed270b));
  const placed = placeFindings(createRng(options.seed ^ 0x2c1b3c6d), anatomy, specs, options.tier);
  const { pixels, masks } = renderPhantom(anatomy, placed, width, height);
  const findings = placed.map((f, i) => ({
    code: f.code,
    side: f.side,
    zone: f.zone,
    sizeMm: f.sizeMm,
    tier: f.tier,
    ...(f.ctr !== undefined ? { ctr: f.ctr } : {}),
    mask: masks[i]!,
  }));
  const labels = Object.fromEntries(FINDING_CODES.map((c) => [c, findings.some((f) => f.code === c) ? 1 : 0])) as Record<FindingCode, 0 | 1>;
  return {
    seed: options.seed,
    width,
    height,
    pixels,
    pixelSpacingMm: FIELD_OF_VIEW_MM / width,
    findings,
    labels,
    reportText: writeReport(findings),
    ctr: Math.round(anatomy.ctr * 100) / 100,
  };
}

/** 16-bit grey copy (0..65535, bright = dense), e.g. for DICOM pixel data or the inference API. */
export function toUint16(phantom: Pick<Phantom, 'pixels'>): Uint16Array {
  const out = new Uint16Array(phantom.pixels.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.round((phantom.pixels[i] ?? 0) * 65535);
  return out;
}
