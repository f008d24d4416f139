import { normaliseCode } from './finding-geometry.ts';
import type { DraftTextFinding, DraftTextImage } from './draft-text.ts';
import { placeDisagrees } from './place-agreement.ts';
import { NEGATES_EVERYTHING, readSentence, type ReadingContext, type SectionName, type SentenceWording, type StatedFinding } from './sentence-grammar.ts';
import { measuredSizeMm } from './size-measurement.ts';
import { splitSentences } from './sentences.ts';

/**
 * Counts what the consistency rules exist to prevent, in any report text (the model's raw text
 * or a final draft), for the evaluation harness:
 * - contradicting: sentences stating a finding no image's classifier calls positive, or negating
 *   one it does (a "normal study" sentence negates every finding), plus findings stated in one
 *   section and not in the other, and impression sentences that place a finding elsewhere than the
 *   findings do (an impression that disagrees with the findings);
 * - repeated: sentences equal to an earlier one of the same section (case and spacing aside);
 * - malformed: sentences outside the model's sentence forms or structurally broken;
 * - unmeasuredSizes: sizes and ratios whose value is not the one measured on the image
 *   (size-measurement.ts), including every one that cannot be measured.
 * `answers`: the text is a draft whose impression may hold the answers to the clinical question
 * (clinical-question.ts), which are drafting sentence forms; a model's own text is read without them.
 */
export interface TextCheckCounts {
  contradicting: number;
  repeated: number;
  malformed: number;
  unmeasuredSizes: number;
}

export function checkReportText(
  sections: { findings: string; impression: string },
  images: readonly DraftTextImage[],
  findings: readonly DraftTextFinding[],
  wording: SentenceWording | null,
  options: { answers?: boolean } = {},
): TextCheckCounts {
  const context: ReadingContext = { wording, findings, answers: options.answers === true };
  const positive = new Set(findings.filter((f) => f.positive).map((f) => normaliseCode(f.code)));
  const counts: TextCheckCounts = { contradicting: 0, repeated: 0, malformed: 0, unmeasuredSizes: 0 };
  const stated: Record<SectionName, Set<string>> = { findings: new Set(), impression: new Set() };
  const placed = new Map<string, StatedFinding[]>();
  for (const name of ['findings', 'impression'] as const) {
    const seen = new Set<string>();
    for (const { text } of splitSentences(sections[name])) {
      const key = text.replace(/\s+/g, ' ').toLowerCase();
      if (seen.has(key)) counts.repeated++;
      seen.add(key);
      const reading = readSentence(text, name, context);
      if (!reading.wellFormed) counts.malformed++;
      const { asserts, negates, size } = reading.meaning;
      for (const a of asserts) stated[name].add(a.code);
      const contradicts =
        asserts.some((a) => !positive.has(a.code)) ||
        negates.some((code) => (code === NEGATES_EVERYTHING ? positive.size > 0 : positive.has(code))) ||
        (name === 'impression' && asserts.some((a) => placeDisagrees(a, placed.get(a.code))));
      if (name === 'findings') for (const a of asserts) placed.set(a.code, [...(placed.get(a.code) ?? []), a]);
      if (contradicts) counts.contradicting++;
      if (size && size.value !== measuredValue(size.code, size.kind, images, findings)) counts.unmeasuredSizes++;
    }
  }
  for (const code of stated.findings) if (!stated.impression.has(code)) counts.contradicting++;
  for (const code of stated.impression) if (!stated.findings.has(code)) counts.contradicting++;
  return counts;
}

/** The measured size of the most probable positive finding of that code, or null. */
function measuredValue(code: string, kind: 'mm' | 'ratio', images: readonly DraftTextImage[], findings: readonly DraftTextFinding[]): number | null {
  if (kind !== 'mm') return null;
  const finding = findings.filter((f) => f.positive && normaliseCode(f.code) === code).sort((a, b) => b.probability - a.probability)[0];
  const image = finding && images.find((i) => i.instanceKey === finding.instanceKey);
  return finding && image ? measuredSizeMm(finding.code, finding.region, image) : null;
}
