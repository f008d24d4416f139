import type { GroundedSentence, Region } from '@cxr/contracts';
import { findMentions, normaliseCode, splitSentences, termPatterns, type Side, type Zone } from '@cxr/drafting';

/**
 * Grounded sentences: each sentence of the report's two sections, with its offsets, linked to
 * the AI finding it asserts and that finding's heatmap region. Runs on the AI draft and on text a
 * radiologist has rewritten, so it is total: any text gives an answer, never an exception.
 *
 * - A sentence is linked to the first finding it asserts (see finding-mentions.ts for terms and
 *   negation) for which the model has a positive finding: a link means "the model saw this
 *   here". Negated mentions ("No pneumothorax."), general statements ("The lungs are clear.") and
 *   findings the model called negative stay unlinked.
 * - When several images have that positive finding (frontal and lateral), the one whose side
 *   matches the side words of the sentence's clause wins, then the highest probability, then
 *   the first given.
 * - A linked sentence that names another side or zone than the finding's heatmap carries a
 *   `conflict` saying so: the decoder writes text and the vision model points, and they can
 *   disagree ("right lower zone" over an upper-zone heatmap). The reader decides which is right.
 */

export interface GroundingFinding {
  code: string;
  display: string;
  sopInstanceUid: string;
  positive: boolean;
  side: Side | null;
  zone: Zone | null;
  region: Region | null;
  probability: number;
}

const SECTIONS = ['findings', 'impression'] as const;

export function groundSentences(sections: { findings: string; impression: string }, findings: GroundingFinding[]): GroundedSentence[] {
  const patterns = termPatterns(findings);
  const sentences: GroundedSentence[] = [];
  for (const section of SECTIONS) {
    const text = typeof sections[section] === 'string' ? sections[section] : '';
    for (const span of splitSentences(text)) {
      let link: GroundedSentence['finding'] = null;
      let conflict: string | undefined;
      for (const mention of findMentions(span.text, patterns)) {
        if (mention.negated) continue;
        const best = pickFinding(findings.filter((f) => f.positive && normaliseCode(f.code) === mention.code), mention.side);
        if (best) {
          link = { code: best.code, sopInstanceUid: best.sopInstanceUid, region: best.region ? { ...best.region } : null };
          conflict = locationConflict(mention, best);
          break;
        }
      }
      sentences.push({ section, text: span.text, start: span.start, end: span.end, finding: link, ...(conflict ? { conflict } : {}) });
    }
  }
  return sentences;
}

const ONE_SIDE: ReadonlySet<Side | null> = new Set<Side | null>(['right', 'left']);

/** What the sentence says about where the finding is that its heatmap contradicts, if anything. */
export function locationConflict(said: { side: Side | null; zone: Zone | null }, finding: Pick<GroundingFinding, 'side' | 'zone'>): string | undefined {
  const problems: string[] = [];
  // Only one-sided claims against one-sided heatmaps: "bilateral" text or a midline map is no contradiction.
  if (ONE_SIDE.has(said.side) && ONE_SIDE.has(finding.side) && said.side !== finding.side) {
    problems.push(`the text says ${said.side}, the heatmap points at the ${finding.side}`);
  }
  if (said.zone !== null && finding.zone !== null && said.zone !== finding.zone) {
    problems.push(`the text says ${said.zone} zone, the heatmap points at the ${finding.zone} zone`);
  }
  return problems.length > 0 ? `Location disagrees: ${problems.join('; ')}.` : undefined;
}

function pickFinding(candidates: GroundingFinding[], side: Side | null): GroundingFinding | undefined {
  const sideScore = (f: GroundingFinding): number => (side !== null && f.side === side ? 1 : 0);
  return candidates.reduce<GroundingFinding | undefined>((best, f) => {
    if (!best) return f;
    const bySide = sideScore(f) - sideScore(best);
    if (bySide !== 0) return bySide > 0 ? f : best;
    return f.probability > best.probability ? f : best;
  }, undefined);
}
