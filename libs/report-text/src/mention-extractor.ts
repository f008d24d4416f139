// Finding mentions in one section's text: each lexicon phrase (and each statement of the
// heart's size) found in a sentence, with its status from assertion-scope.ts and its side, zone
// and size.
import { assertionsOf, clauseAround, findCues, freeCues, type Assertion, type Candidate } from './assertion-scope.ts';
import { measurementsIn, placeOf } from './finding-attributes.ts';
import { LEXICON, type LexiconEntry } from './finding-lexicon.ts';
import { heartSizeStatements, isHeartWord } from './heart-size.ts';
import { PhraseIndex, tokenKeys, type PhraseMatch } from './phrase-matcher.ts';
import type { SectionName } from './report-sections.ts';
import { normalMentions } from './study-normal.ts';
import type { Mention } from './mention.ts';
import { splitSentences, type Sentence, type Token } from './sentence-splitter.ts';

export type { Certainty, MentionStatus } from './assertion-scope.ts';
export type { Mention } from './mention.ts';


const lexiconIndex = new PhraseIndex<LexiconEntry>(LEXICON.flatMap((entry) => entry.phrases.map((p) => [p, entry] as const)));

/** All mentions in a section's text. */
export function extractMentions(text: string, section: SectionName): Mention[] {
  return splitSentences(text).flatMap((sentence) =>
    [...mentionsInSentence(text, sentence, section), ...normalMentions(sentence, section)].sort((a, b) => a.start - b.start),
  );
}

const HEART_ENTRY: LexiconEntry = { codes: ['cardiomegaly'], term: 'heart size', phrases: [] };

function mentionsInSentence(text: string, sentence: Sentence, section: SectionName): Mention[] {
  const { tokens } = sentence;
  const keys = tokenKeys(tokens);
  const cues = findCues(keys);
  const hearts = heartSizeStatements(keys);
  const claimed = new Set(hearts.flatMap((h) => [...range(h.start, h.end)].filter((i) => isHeartWord(i, h))));
  const candidates: Candidate[] = [
    ...hearts.map((h) => ({ entry: HEART_ENTRY, start: h.start, end: h.end, heart: { size: h.size, modifier: h.modifier } })),
    ...lexiconIndex.matchAll(keys, (i) => claimed.has(i)).map((m) => ({ entry: outsideLung(m, keys), start: m.start, end: m.end })),
  ].sort((a, b) => a.start - b.start);
  const statuses = assertionsOf(candidates, cues, keys, tokens, text);
  const free = freeCues(candidates, cues);

  const sizes = measurementsIn(sentence.text).map((m) => ({ ...m, start: m.start + sentence.start, end: m.end + sentence.start }));
  const mentions: Mention[] = [];
  candidates.forEach((candidate, index) => {
    const { from, to } = clauseAround(candidate, free, tokens.length);
    // The heart has no side or zone ("upper limits of normal" is not a zone).
    const place = candidate.heart || candidate.entry.codes.includes('cardiomegaly') ? {} : placeOf(keys, candidate.start, candidate.end, from, to);
    const first = tokens[candidate.start] as Token;
    const last = tokens[candidate.end - 1] as Token;
    const status = statuses[index] as Assertion;
    const size = nearestSize(sizes, tokens, candidate, from, to);
    for (const code of candidate.entry.codes) {
      mentions.push({
        code,
        term: candidate.entry.term,
        status: status.status,
        ...(status.certainty ? { certainty: status.certainty } : {}),
        section,
        text: text.slice(first.start, last.end),
        ...(status.cue !== undefined ? { cue: status.cue } : {}),
        ...place,
        ...(size !== undefined && code !== 'other' ? { sizeMm: size } : {}),
        sentence: sentence.text,
        start: first.start,
        end: last.end,
      });
    }
  });
  return mentions;
}

// "Bony density over the clavicle", "densities over the breast shadows": an opacity placed on a
// structure outside the lung is not a lung opacity.
const OUTSIDE_LUNG = new Set(
  ('bone bony osseous rib clavicle clavicular scapula scapular humerus humeral shoulder spine spinal vertebra vertebral vertebrae sternum ' +
    'breast nipple skin soft subcutaneous abdomen abdominal stomach bowel colon liver spleen axilla axillary neck thyroid').split(' '),
);
const OUTSIDE_LUNG_ENTRY: LexiconEntry = { codes: ['other'], term: 'opacity outside the lung', phrases: [] };

function outsideLung(match: PhraseMatch<LexiconEntry>, keys: readonly string[]): LexiconEntry {
  if (match.value.term !== 'opacity') return match.value;
  const lo = Math.max(0, match.start - 2);
  const hi = Math.min(keys.length, match.end + 5);
  for (let i = lo; i < hi; i += 1) {
    const key = keys[i] ?? '';
    if (key === '.' || key === ';' || key === ',') {
      if (i >= match.end) break;
      continue;
    }
    if (OUTSIDE_LUNG.has(key)) return OUTSIDE_LUNG_ENTRY;
  }
  return match.value;
}

function* range(from: number, to: number): Generator<number> {
  for (let i = from; i < to; i += 1) yield i;
}

function nearestSize(
  sizes: readonly { mm: number; start: number; end: number }[],
  tokens: readonly Token[],
  candidate: Candidate,
  from: number,
  to: number,
): number | undefined {
  const lo = tokens[from]?.start ?? 0;
  const hi = tokens[to - 1]?.end ?? Number.POSITIVE_INFINITY;
  const at = tokens[candidate.start]?.start ?? 0;
  let best: { mm: number; distance: number } | undefined;
  for (const size of sizes) {
    if (size.start < lo || size.end > hi) continue;
    const distance = Math.abs(size.start - at);
    if (!best || distance < best.distance) best = { mm: size.mm, distance };
  }
  return best?.mm;
}
