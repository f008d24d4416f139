// The study-level normal call: a report is normal when its findings and impression assert no
// abnormality at all (no finding of ours and none of the others the lexicon knows, present or
// uncertain) and say something reassuring: a normal statement ("normal chest", "lungs are
// clear", "no acute cardiopulmonary process") or an explicit negative ("no pneumothorax").
import type { Mention } from './mention.ts';
import type { SectionName } from './report-sections.ts';
import type { Sentence } from './sentence-splitter.ts';

/** Sections whose text says what the image shows. */
export const READING_SECTIONS: readonly SectionName[] = ['findings', 'impression', 'report'];

const NORMAL_STATEMENTS: readonly RegExp[] = [
  /(?<!(?:upper|high|top|lower|low)(?: limits?)?(?: of)? )\bnormal\b(?! limits? of)/gi,
  /\bunremarkable\b/gi,
  /\bNAD\b/g,
  /\b(?:lungs?|chest|lung fields?)\b[^.;]{0,30}\bclear\b|\bclear\b[^.;]{0,10}\blungs?\b/gi,
  /\bno\b(?!\s+(?:significant\s+|interval\s+|appreciable\s+)?change)[^.;]{0,40}?\b(?:disease|process|abnormality|abnormalities|findings?|pathology)\b/gi,
  /\bnegative\b[^.;]{0,20}\b(?:chest|study|exam|examination|radiograph|x ?-?ray|film)\b/gi,
];

/** The normal statements in a sentence, as mentions with code `normal`. */
export function normalMentions(sentence: Sentence, section: SectionName): Mention[] {
  const found: Mention[] = [];
  for (const pattern of NORMAL_STATEMENTS) {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(sentence.text); m; m = pattern.exec(sentence.text)) {
      const start = sentence.start + m.index;
      if (found.some((f) => start < f.end && start + m![0].length > f.start)) continue;
      found.push({ code: 'normal', term: 'normal', status: 'present', section, text: m[0], sentence: sentence.text, start, end: start + m[0].length });
    }
  }
  return found;
}

/** True when the reading sections assert no abnormality and say something reassuring. */
export function isNormalStudy(mentions: readonly Mention[]): boolean {
  const reading = mentions.filter((m) => READING_SECTIONS.includes(m.section));
  const abnormal = reading.some((m) => m.code !== 'normal' && m.status !== 'absent');
  const reassuring = reading.some((m) => m.code === 'normal' || m.status === 'absent');
  return !abnormal && reassuring;
}
