import type { GroundedSentence, Region } from '@cxr/contracts';
import { normaliseCode, type Side, type Zone } from './finding-geometry.ts';
import { findMentions, termPatterns } from './finding-mentions.ts';
import { splitSentences } from './sentences.ts';

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
      for (const mention of findMentions(span.text, patterns)) {
        if (mention.negated) continue;
        const best = pickFinding(findings.filter((f) => f.positive && normaliseCode(f.code) === mention.code), mention.side);
        if (best) {
          link = { code: best.code, sopInstanceUid: best.sopInstanceUid, region: best.region ? { ...best.region } : null };
          break;
        }
      }
      sentences.push({ section, text: span.text, start: span.start, end: span.end, finding: link });
    }
  }
  return sentences;
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
