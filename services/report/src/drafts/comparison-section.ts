import type { PriorLookup } from '@cxr/contracts';
import { COMPARISON_NONE, compareWithPrior, type ComparedFinding } from '@cxr/drafting';

/**
 * The draft's COMPARISON section, from ingest's prior look-up (`study-received.priors`) and the
 * priors' own reports. Pure. The most recent prior whose report has findings is compared with
 * (libs/drafting comparison.ts); what the radiologist rejected on that report counts as absent.
 * When no comparison could be made the section says why, in words a reader takes at a glance:
 * - no prior found (and every PACS answered): "None.";
 * - a PACS did not answer in time: "None: prior lookup timed out (main did not answer within 10 s);
 *   no comparison was made.";
 * - a prior found but not analysed yet: "Prior study of 2025-11-02 not yet analysed; no comparison was made."
 *   (or "could not be analysed by the AI model" when it never will be: not eligible, failed, out of scope).
 * A comparison made while a PACS did not answer says so after it ("Prior lookup incomplete: ...").
 */
export interface PriorReport {
  studyKey: string;
  /** The prior's findings as its current report has them; null when it has no report with findings yet. */
  findings: ComparedFinding[] | null;
  /** Why there are none: its analysis is still to come, or it will never have one (not eligible, failed, out of scope). */
  missing?: 'pending' | 'not-analysable';
}

function unansweredWords(unanswered: PriorLookup['unanswered']): string {
  return unanswered.map((u) => (u.reason === 'timed-out' ? `${u.source}: ${u.detail}` : `${u.source} failed: ${u.detail}`)).join('; ');
}

export function comparisonSection(lookup: PriorLookup, reports: readonly PriorReport[], current: readonly ComparedFinding[]): string {
  const byKey = new Map(reports.map((r) => [r.studyKey, r]));
  const timedOut = lookup.unanswered.some((u) => u.reason === 'timed-out');
  const incomplete = lookup.unanswered.length > 0 ? ` Prior lookup ${timedOut ? 'timed out' : 'failed'} for some PACS (${unansweredWords(lookup.unanswered)}).` : '';
  if (lookup.priors.length === 0) {
    if (lookup.unanswered.length === 0) return COMPARISON_NONE;
    return `None: prior lookup ${timedOut ? 'timed out' : 'failed'} (${unansweredWords(lookup.unanswered)}); no comparison was made.`;
  }
  // Most recent first, as ingest lists them.
  const prior = lookup.priors.find((p) => byKey.get(p.studyKey)?.findings);
  if (!prior) {
    const first = lookup.priors[0]!;
    const why = byKey.get(first.studyKey)?.missing === 'not-analysable' ? 'could not be analysed by the AI model' : 'not yet analysed';
    return `Prior study of ${first.studyDate} ${why}; no comparison was made.${incomplete}`;
  }
  return `${compareWithPrior(current, { date: prior.studyDate, findings: byKey.get(prior.studyKey)!.findings! }).sentence}${incomplete}`;
}
