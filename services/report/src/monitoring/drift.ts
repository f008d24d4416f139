import { type DriftStatus, type FindingPerformance, type ModelValidation, type ModelVersionPerformance, type ShadowComparison } from '@cxr/contracts';
import { codesIn, FIELD, histogramOf, type ShadowCell } from './performance-fields.ts';
import type { FieldCounts, ModelRole } from './performance-store.ts';

/**
 * The drift checks, as pure functions over a window's summed counters and the package's
 * validation figures:
 * - positive rate: drift when the live rate leaves validation rate ± `positiveRateTolerance`
 *   over the window, once `minImages` images have been read (fewer: insufficient-data);
 * - score distribution: drift when the population stability index of the live probability
 *   histogram against the validation one exceeds `scorePsiLimit` (0.25 is the usual "major shift");
 * - agreement (accepted / (accepted + rejected + added) from signed reports): drift when below
 *   `agreementFloor`, or more than `agreementDrop` below the window before, once `minDecisions`
 *   reviews count in each.
 * Without validation figures the rate and score checks say `no-reference`.
 */

export interface DriftLimits {
  positiveRateTolerance: number;
  minImages: number;
  scorePsiLimit: number;
  agreementFloor: number;
  agreementDrop: number;
  minDecisions: number;
}

export const DEFAULT_DRIFT_LIMITS: DriftLimits = Object.freeze({
  positiveRateTolerance: 0.1,
  minImages: 50,
  scorePsiLimit: 0.25,
  agreementFloor: 0.7,
  agreementDrop: 0.15,
  minDecisions: 20,
});

/** Population stability index: Σ (live − ref) · ln(live / ref) over bins, both as shares, with empty bins smoothed. */
export function populationStabilityIndex(liveCounts: readonly number[], reference: readonly number[]): number {
  const total = liveCounts.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  const eps = 1e-4;
  let psi = 0;
  for (let i = 0; i < reference.length; i++) {
    const live = Math.max(eps, liveCounts[i]! / total);
    const ref = Math.max(eps, reference[i]!);
    psi += (live - ref) * Math.log(live / ref);
  }
  return psi;
}

const share = (n: number, of: number): number | null => (of > 0 ? n / of : null);
const clamp = (x: number): number => Math.min(1, Math.max(0, x));

function agreementOf(fields: FieldCounts, code: string): { accepted: number; rejected: number; added: number; agreement: number | null } {
  const accepted = fields.get(FIELD.review('accepted', code)) ?? 0;
  const rejected = fields.get(FIELD.review('rejected', code)) ?? 0;
  const added = fields.get(FIELD.review('added', code)) ?? 0;
  return { accepted, rejected, added, agreement: share(accepted, accepted + rejected + added) };
}

export function findingPerformance(code: string, fields: FieldCounts, previous: FieldCounts, validation: ModelValidation | null, limits: DriftLimits): FindingPerformance {
  const images = fields.get(FIELD.read(code)) ?? 0;
  const positives = fields.get(FIELD.positive(code)) ?? 0;
  const positiveRate = share(positives, images);
  const histogram = histogramOf(fields, code);
  const reference = validation?.findings[code];
  const reasons: string[] = [];
  const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

  let rateStatus: DriftStatus = 'no-reference';
  let scoreStatus: DriftStatus = 'no-reference';
  let scorePsi: number | null = null;
  const expected = reference
    ? {
        positiveRate: reference.positiveRate,
        lower: clamp(reference.positiveRate - limits.positiveRateTolerance),
        upper: clamp(reference.positiveRate + limits.positiveRateTolerance),
        histogram: reference.histogram,
      }
    : null;
  if (expected) {
    if (images < limits.minImages) {
      rateStatus = 'insufficient-data';
      scoreStatus = 'insufficient-data';
    } else {
      const rate = positiveRate!;
      rateStatus = rate < expected.lower || rate > expected.upper ? 'drift' : 'ok';
      if (rateStatus === 'drift') {
        reasons.push(`${code}: positive rate ${pct(rate)} over ${images} images is outside the expected ${pct(expected.lower)}–${pct(expected.upper)} (validation ${pct(expected.positiveRate)})`);
      }
      scorePsi = populationStabilityIndex(histogram, expected.histogram);
      scoreStatus = scorePsi > limits.scorePsiLimit ? 'drift' : 'ok';
      if (scoreStatus === 'drift') reasons.push(`${code}: probability distribution shifted (PSI ${scorePsi.toFixed(2)} > ${limits.scorePsiLimit})`);
    }
  }

  const now = agreementOf(fields, code);
  const before = agreementOf(previous, code);
  const decided = now.accepted + now.rejected + now.added;
  const decidedBefore = before.accepted + before.rejected + before.added;
  let agreementStatus: DriftStatus = 'insufficient-data';
  const previousAgreement = decidedBefore >= limits.minDecisions ? before.agreement : null;
  if (decided >= limits.minDecisions) {
    const a = now.agreement!;
    const below = a < limits.agreementFloor;
    const dropped = previousAgreement !== null && previousAgreement - a > limits.agreementDrop;
    agreementStatus = below || dropped ? 'drift' : 'ok';
    if (below) reasons.push(`${code}: agreement ${pct(a)} over ${decided} reviewed calls is below ${pct(limits.agreementFloor)}`);
    if (dropped) reasons.push(`${code}: agreement fell from ${pct(previousAgreement)} to ${pct(a)} (more than ${pct(limits.agreementDrop)})`);
  }

  return {
    code,
    images,
    positives,
    positiveRate,
    histogram,
    expected,
    scorePsi,
    review: { accepted: now.accepted, rejected: now.rejected, added: now.added, agreement: now.agreement, previousAgreement },
    drift: { positiveRate: rateStatus, scoreDistribution: scoreStatus, agreement: agreementStatus, reasons },
  };
}

function shadowComparison(fields: FieldCounts): ShadowComparison | null {
  // The version compared against: the one named in `shadow:{against}:studies` with the most studies.
  let against: string | null = null;
  let studies = 0;
  for (const [field, n] of fields) {
    const m = /^shadow:(.+):studies$/.exec(field);
    if (m && n > studies) [against, studies] = [m[1]!, n];
  }
  if (against === null) return null;
  const cells: ShadowCell[] = ['bothPositive', 'bothNegative', 'activeOnly', 'shadowOnly'];
  const findings: ShadowComparison['findings'] = {};
  for (const code of codesIn(fields)) {
    const c = Object.fromEntries(cells.map((cell) => [cell, fields.get(FIELD.shadow(against, code, cell)) ?? 0])) as Record<ShadowCell, number>;
    const total = c.bothPositive + c.bothNegative + c.activeOnly + c.shadowOnly;
    findings[code] = { ...c, agreement: share(c.bothPositive + c.bothNegative, total) };
  }
  return { against, studies, findings };
}

/** One model version's performance over the window (`previous`: the window of the same length before it). */
export function modelVersionPerformance(
  role: ModelRole,
  model: string,
  fields: FieldCounts,
  previous: FieldCounts,
  validation: ModelValidation | null,
  limits: DriftLimits,
): ModelVersionPerformance {
  const images = fields.get(FIELD.images) ?? 0;
  const outOfScopeImages = fields.get(FIELD.outOfScope) ?? 0;
  const received = fields.get(FIELD.received) ?? 0;
  const notEligible = fields.get(FIELD.notEligible) ?? 0;
  const codes = [...new Set([...codesIn(fields), ...Object.keys(validation?.findings ?? {})])].sort();
  const findings = codes.map((code) => findingPerformance(code, fields, previous, validation, limits));
  return {
    model,
    role,
    studies: fields.get(FIELD.studies) ?? 0,
    images,
    outOfScopeImages,
    outOfScopeShare: share(outOfScopeImages, images),
    studiesReceived: received,
    notEligibleStudies: notEligible,
    notEligibleShare: share(notEligible, received),
    signedStudies: fields.get(FIELD.signed) ?? 0,
    validation: validation ? { dataset: validation.dataset, count: validation.count } : null,
    findings,
    shadow: role === 'shadow' ? shadowComparison(fields) : null,
    drifting: findings.some((f) => f.drift.positiveRate === 'drift' || f.drift.scoreDistribution === 'drift' || f.drift.agreement === 'drift'),
  };
}

