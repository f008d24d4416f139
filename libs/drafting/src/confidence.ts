import type { ConfidenceBand } from '@cxr/contracts';

/**
 * How sure the model is of its call on a finding, in words a report can carry: the distance
 * between the probability and the finding's operating threshold, measured in log-odds so that
 * it means the same for a threshold of 0.09 as for one of 0.67.
 *
 *   d = |logit(probability) - logit(threshold)|
 *   high      d >= 2     (the odds differ from the threshold's by a factor of 7.4 or more)
 *   moderate  d >= 0.75  (a factor of 2.1 or more)
 *   low       otherwise: the call is borderline
 *
 * The band qualifies the call either way: a positive far above its threshold is a high-confidence
 * positive, a probability just under the threshold is a low-confidence negative. It says nothing
 * about clinical accuracy (the reference model is trained on synthetic images only).
 */

export const HIGH_CONFIDENCE_LOG_ODDS = 2;
export const MODERATE_CONFIDENCE_LOG_ODDS = 0.75;

/** Keeps logit finite at 0 and 1. */
const EPSILON = 1e-6;

export function logit(p: number): number {
  const q = Math.min(1 - EPSILON, Math.max(EPSILON, p));
  return Math.log(q / (1 - q));
}

export function confidenceBand(probability: number, threshold: number): ConfidenceBand {
  const distance = Math.abs(logit(probability) - logit(threshold));
  if (!(distance >= MODERATE_CONFIDENCE_LOG_ODDS)) return 'low';
  return distance >= HIGH_CONFIDENCE_LOG_ODDS ? 'high' : 'moderate';
}
