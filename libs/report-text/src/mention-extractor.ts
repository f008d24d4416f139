// Finding mentions in one section's text: each lexicon phrase (and each "heart is enlarged" /
// "heart size is normal" statement) found in a sentence, with its status decided by the nearest
// negation or hedging cue in scope (see assertion-triggers.ts), and its side, zone and size.
import { CUES, type CueKind } from './assertion-triggers.ts';
import type { MentionCode } from './finding-codes.ts';
import { measurementsIn, placeOf, type Laterality, type Zone } from './finding-attributes.ts';
import { LEXICON, type LexiconEntry } from './finding-lexicon.ts';
import { PhraseIndex, phraseKeys, tokenKeys, type PhraseMatch } from './phrase-matcher.ts';
import type { SectionName } from './report-sections.ts';
import { normalMentions } from './study-normal.ts';
import { splitSentences, type Sentence, type Token } from './sentence-splitter.ts';

export type MentionStatus = 'present' | 'absent' | 'uncertain';
/** How strongly an uncertain mention is put: "probable" (likely, suggestive of, suspected) or
 * "possible" (may, could, cannot exclude, versus), after the usual certainty scale of reports. */
export type Certainty = 'probable' | 'possible';

const PROBABLE_CUES = new Set([
  'likely', 'most likely', 'probable', 'probably', 'presumed', 'presumably', 'suspected', 'suspect', 'suspicious for', 'suspicious of',
  'suspicion of', 'suspicion for', 'suggestive of', 'suggesting', 'suggests', 'suggest', 'concerning for', 'concern for', 'worrisome for',
  'favor', 'favored', 'favour', 'is favored', 'is likely', 'are likely', 'is probably', 'are probably', 'is probable', 'is suspected', 'are suspected', 'suspected', 'represent',
  'represents', 'representing', 'reflect', 'reflects', 'reflecting', 'apparent', 'is suggested', 'suggested', 'borderline', 'borderline enlarged',
]);

export interface Mention {
  readonly code: MentionCode;
  /** What was found in plain words: "pleural effusion", "granuloma", "heart size". */
  readonly term: string;
  readonly status: MentionStatus;
  /** Set on uncertain mentions. */
  readonly certainty?: Certainty;
  readonly section: SectionName;
  /** The words as written. */
  readonly text: string;
  /** The cue that set the status ("no", "cannot be excluded"), when one did. */
  readonly cue?: string;
  readonly laterality?: Laterality;
  readonly zones?: readonly Zone[];
  /** Largest dimension of a size written in the same clause, in millimetres. */
  readonly sizeMm?: number;
  readonly sentence: string;
  /** Character offsets of `text` in the section's text. */
  readonly start: number;
  readonly end: number;
}

const cueIndex = new PhraseIndex<CueKind[]>(
  (() => {
    const kinds = new Map<string, CueKind[]>();
    // Keyed by matching form, so "rules out" and "rule out" are one cue with both kinds.
    for (const [kind, phrases] of Object.entries(CUES) as [CueKind, readonly string[]][]) {
      for (const phrase of phrases) {
        const key = phraseKeys(phrase).join(' ');
        kinds.set(key, [...new Set([...(kinds.get(key) ?? []), kind])]);
      }
    }
    return kinds.entries();
  })(),
);
const lexiconIndex = new PhraseIndex<LexiconEntry>(LEXICON.flatMap((entry) => entry.phrases.map((p) => [p, entry] as const)));

// "The heart is enlarged", "normal heart size", "enlargement of the cardiac silhouette": a
// heart word and a size word, near each other with only linking words between.
type HeartSize = 'enlarged' | 'borderline' | 'normal';
const heartIndex = new PhraseIndex<true>(
  [
    'heart', 'heart size', 'heart shadow', 'heart contour', 'cardiac', 'cardiac silhouette', 'cardiac shadow', 'cardiac size', 'cardiac contour',
    'cardiac diameter', 'cardiothoracic ratio', 'ctr', 'cardiomediastinal silhouette', 'cardiomediastinal contour', 'cardiomediastinal', 'cardiopericardial silhouette',
  ].map((p) => [p, true] as const),
);
const sizeIndex = new PhraseIndex<HeartSize>([
  ...['enlarged', 'enlargement', 'large', 'larger', 'increased', 'increase in size', 'big'].map((p) => [p, 'enlarged' as const] as const),
  ...['borderline', 'borderline enlarged', 'prominent', 'mildly prominent'].map((p) => [p, 'borderline' as const] as const),
  // "Upper limits of normal" is still normal: it is what radiologists write to say so.
  ...[
    'normal', 'within normal limits', 'within normal limit', 'unremarkable', 'normal size', 'small', 'not enlarged', 'upper limits of normal',
    'upper limit of normal', 'upper normal', 'high normal', 'top normal', 'top of normal', 'upper range of normal',
  ].map((p) => [p, 'normal' as const] as const),
]);
const HEART_GAP = new Set(
  (
    'is are was were appear appears appeared remain remains remained seem seems size and the mediastinum mediastinal contour silhouette within at ' +
    'mildly moderately slightly markedly severely mild moderate marked severe massively again stable stably overall still now be to also minimally ' +
    'in grossly likely probably possibly not no considered somewhat persistently persistent hila hilar vasculature pulmonary vascularity generally ' +
    'globally otherwise chronically configuration shape : , upper limit limits of top'
  ).split(' '),
);

interface Candidate {
  entry: LexiconEntry;
  start: number;
  end: number;
  heart?: { size: HeartSize; modifier: PhraseMatch<HeartSize> };
}

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
  const cues = cueIndex.matchAll(keys);
  const hearts = heartSizeStatements(keys);
  const claimed = new Set(hearts.flatMap((h) => [...range(h.start, h.end)].filter((i) => inMatch(i, h))));
  const candidates: Candidate[] = [
    ...hearts.map((h) => ({ entry: HEART_ENTRY, start: h.start, end: h.end, heart: { size: h.size, modifier: h.modifier } })),
    ...lexiconIndex.matchAll(keys, (i) => claimed.has(i)).map((m) => ({ entry: outsideLung(m, keys), start: m.start, end: m.end })),
  ].sort((a, b) => a.start - b.start);
  // A cue inside a finding's own words is part of it ("heart is not enlarged" aside).
  const freeCues = cues.filter((c) => !candidates.some((m) => c.start < m.end && c.end > m.start && !m.heart));

  const statuses = candidates.map((candidate) => statusOf(candidate, candidates, freeCues, tokens, text));
  hedgeAlternatives(candidates, statuses, freeCues, tokens, text);
  inheritDeniedEvidence(candidates, statuses, freeCues, tokens, text);
  describedNormal(candidates, statuses, keys, tokens, text);

  const sizes = measurementsIn(sentence.text).map((m) => ({ ...m, start: m.start + sentence.start, end: m.end + sentence.start }));
  const mentions: Mention[] = [];
  candidates.forEach((candidate, index) => {
    const { from, to } = clauseAround(candidate, freeCues, tokens.length);
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
    'breast nipple skin soft subcutaneous abdomen abdominal stomach bowel colon liver spleen chest wall axilla axillary neck thyroid').split(' '),
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

interface HeartStatement {
  start: number;
  end: number;
  size: HeartSize;
  anchor: PhraseMatch<true>;
  modifier: PhraseMatch<HeartSize>;
}

function inMatch(i: number, h: HeartStatement): boolean {
  return (i >= h.anchor.start && i < h.anchor.end) || (i >= h.modifier.start && i < h.modifier.end);
}

function heartSizeStatements(keys: readonly string[]): HeartStatement[] {
  const statements: HeartStatement[] = [];
  for (const anchor of heartIndex.matchAll(keys)) {
    // Anchor first: "heart size is mildly enlarged".
    let found: PhraseMatch<HeartSize> | null = null;
    for (let i = anchor.end; i < Math.min(keys.length, anchor.end + 8); i += 1) {
      found = sizeIndex.matchAt(keys, i);
      if (found || !HEART_GAP.has(keys[i] ?? '')) break;
    }
    if (found) {
      statements.push({ start: anchor.start, end: found.end, size: found.value, anchor, modifier: found });
      continue;
    }
    // Size word first: "enlarged cardiac silhouette", "enlargement of the heart".
    let gapStart = anchor.start;
    while (gapStart > 0 && anchor.start - gapStart < 2 && ['of', 'the'].includes(keys[gapStart - 1] ?? '')) gapStart -= 1;
    for (let at = Math.max(0, gapStart - 5); at < gapStart; at += 1) {
      const before = sizeIndex.matchAt(keys, at);
      if (before && before.end === gapStart) {
        statements.push({ start: before.start, end: anchor.end, size: before.value, anchor, modifier: before });
        break;
      }
    }
  }
  return statements.filter((s, i) => !statements.some((o, j) => j < i && s.start < o.end && s.end > o.start));
}

interface Cue {
  value: CueKind[];
  start: number;
  end: number;
}

const PRE_WINDOW = 12;
const POST_WINDOW = 10;

type Assertion = { status: MentionStatus; certainty?: Certainty; cue?: string };

function statusOf(candidate: Candidate, all: readonly Candidate[], cues: readonly Cue[], tokens: readonly Token[], text: string): Assertion {
  const cueText = (cue: { start: number; end: number }): string => text.slice(tokens[cue.start]?.start ?? 0, tokens[cue.end - 1]?.end ?? 0);
  if (candidate.heart?.size === 'normal') return { status: 'absent', cue: cueText(candidate.heart.modifier) };

  // After the words: the nearest post cue, before a comma, another finding or a terminator.
  const post = postCue(candidate, all, cues, tokens);
  if (post) {
    if (post.value.includes('postNegation')) return { status: 'absent', cue: cueText(post) };
    return { status: 'uncertain', certainty: PROBABLE_CUES.has(cueText(post).toLowerCase()) ? 'probable' : 'possible', cue: cueText(post) };
  }

  // Before (or, for a heart statement, within) the words: the nearest pre cue in the clause;
  // a hedge is "possible" if any hedge in the clause says so ("could reflect", "may be likely").
  const pre = preCues(candidate, cues);
  const nearest = pre[0];
  if (nearest) {
    if (nearest.value.includes('preNegation')) return { status: 'absent', cue: cueText(nearest) };
    const hedges = pre.filter((c) => c.value.includes('preUncertain'));
    const probable = hedges.every((c) => PROBABLE_CUES.has(cueText(c).toLowerCase().replace(/\s+/g, ' ')));
    return { status: 'uncertain', certainty: probable ? 'probable' : 'possible', cue: cueText(nearest) };
  }
  // Borderline enlargement is asserted; only its degree is in doubt.
  if (candidate.heart?.size === 'borderline') return { status: 'uncertain', certainty: 'probable', cue: cueText(candidate.heart.modifier) };
  return { status: 'present' };
}

/** Pre cues in scope, nearest first, up to the first negation. */
function preCues(candidate: Candidate, cues: readonly Cue[]): Cue[] {
  const inside = cues.filter((c) => candidate.heart && c.start >= candidate.start && c.end <= candidate.end && isPre(c));
  if (inside.length > 0) return inside.reverse();
  const found: Cue[] = [];
  for (const cue of cues.filter((c) => c.end <= candidate.start).reverse()) {
    if (candidate.start - cue.end > PRE_WINDOW) break;
    if (cue.value.includes('terminator') || cue.value.includes('pseudo')) break;
    if (!isPre(cue)) continue;
    if (cue.value.includes('preNegation')) {
      if (found.length === 0) found.push(cue);
      break;
    }
    found.push(cue);
  }
  return found;
}

function isPre(cue: Cue): boolean {
  return cue.value.includes('preNegation') || cue.value.includes('preUncertain');
}

// The post scope runs over a list of findings ("consolidation, atelectasis and blunting have
// cleared") but stops at a comma or another finding that does not continue such a list.
function postCue(candidate: Candidate, all: readonly Candidate[], cues: readonly Cue[], tokens: readonly Token[]): Cue | null {
  let budget = POST_WINDOW;
  for (let i = candidate.end; i < tokens.length && budget > 0; i += 1, budget -= 1) {
    const cue = cues.find((c) => c.start === i);
    if (cue) {
      if (cue.value.includes('postNegation') || cue.value.includes('postUncertain')) return cue;
      if (cue.value.includes('terminator') || cue.value.includes('pseudo')) return null;
    }
    const norm = (tokens[i] as Token).norm;
    if (norm === '.') return null;
    if (norm === ',' || norm === 'and' || norm === 'or' || all.some((m) => m.start === i)) {
      const next = listContinuation(i, all, tokens);
      if (!next) return null;
      i = next.end - 1;
      budget = POST_WINDOW + 1;
    }
  }
  return null;
}

function listContinuation(at: number, all: readonly Candidate[], tokens: readonly Token[]): Candidate | null {
  let i = at;
  while (i < tokens.length && [',', 'and', 'or'].includes((tokens[i] as Token).norm)) i += 1;
  return all.find((m) => m.start >= i && m.start <= i + 3) ?? null;
}

// "atelectasis versus pneumonia", "scarring or atelectasis": asserted alternatives are uncertain.
function hedgeAlternatives(candidates: readonly Candidate[], statuses: Assertion[], cues: readonly Cue[], tokens: readonly Token[], text: string): void {
  for (let i = 0; i + 1 < candidates.length; i += 1) {
    const a = candidates[i] as Candidate;
    const b = candidates[i + 1] as Candidate;
    const between = cues.filter((c) => c.start >= a.end && c.end <= b.start);
    const alternative = between.find((c) => c.value.includes('between'));
    if (!alternative || b.start - a.end > 4 || between.some((c) => c.value.includes('terminator') && !c.value.includes('between'))) continue;
    const alternativeText = text.slice(tokens[alternative.start]?.start ?? 0, tokens[alternative.end - 1]?.end ?? 0);
    for (const index of [i, i + 1]) {
      if (statuses[index]?.status === 'present') statuses[index] = { status: 'uncertain', certainty: 'possible', cue: alternativeText };
    }
  }
}

// "No focal opacity to suggest pneumonia", "no consolidation concerning for pneumonia", "no
// effusion to indicate heart failure": the words link the finding to evidence that was denied, so
// the finding is denied too.
const LINKING_CUES = new Set([
  'suggest', 'suggesting', 'suggestive of', 'suggests', 'to suggest', 'to indicate', 'indicate', 'indicating', 'represent', 'reflect',
  'concerning for', 'concern for', 'suspicious for', 'worrisome for', 'consistent with', 'compatible with', 'typical of', 'characteristic of',
]);

function inheritDeniedEvidence(candidates: readonly Candidate[], statuses: Assertion[], cues: readonly Cue[], tokens: readonly Token[], text: string): void {
  const cueWords = (cue: Cue): string => text.slice(tokens[cue.start]?.start ?? 0, tokens[cue.end - 1]?.end ?? 0).toLowerCase().replace(/\s+/g, ' ');
  for (let i = 1; i < candidates.length; i += 1) {
    const evidence = candidates[i - 1] as Candidate;
    const current = candidates[i] as Candidate;
    if (statuses[i - 1]?.status !== 'absent' || statuses[i]?.status === 'absent' || current.start - evidence.end > 6) continue;
    const between = cues.filter((c) => c.start >= evidence.end && c.end <= current.start);
    const linked = between.some((c) => LINKING_CUES.has(cueWords(c)));
    const broken = between.some((c) => c.value.includes('terminator') && !LINKING_CUES.has(cueWords(c)));
    if (linked && !broken) statuses[i] = { status: 'absent', cue: statuses[i - 1]?.cue ?? cueWords(between[0] as Cue) };
  }
}

// "Vascular markings are normal", "normal hila", "bony structures are intact": an 'other'
// structure said to be normal is not an abnormality.
const NORMAL_WORDS = new Set(['normal', 'unremarkable', 'intact', 'satisfactory', 'maintained', 'preserved']);
const LINKING_WORDS = new Set(['is', 'are', 'appear', 'appears', 'remain', 'remains', 'be', 'to', 'and', 'within', 'grossly', 'otherwise', 'the', 'overall']);

function describedNormal(candidates: readonly Candidate[], statuses: Assertion[], keys: readonly string[], tokens: readonly Token[], text: string): void {
  candidates.forEach((candidate, index) => {
    if (!candidate.entry.codes.includes('other') || statuses[index]?.status !== 'present') return;
    let normalAt = -1;
    for (let i = candidate.end; i < Math.min(keys.length, candidate.end + 5); i += 1) {
      if (NORMAL_WORDS.has(keys[i] ?? '')) {
        normalAt = i;
        break;
      }
      if (!LINKING_WORDS.has(keys[i] ?? '')) break;
    }
    if (normalAt < 0 && NORMAL_WORDS.has(keys[candidate.start - 1] ?? '')) normalAt = candidate.start - 1;
    if (normalAt >= 0) statuses[index] = { status: 'absent', cue: text.slice(tokens[normalAt]?.start ?? 0, tokens[normalAt]?.end ?? 0) };
  });
}

function clauseAround(candidate: Candidate, cues: readonly Cue[], length: number): { from: number; to: number } {
  let from = 0;
  let to = length;
  for (const cue of cues) {
    if (!cue.value.includes('terminator')) continue;
    if (cue.end <= candidate.start) from = Math.max(from, cue.end);
    if (cue.start >= candidate.end) to = Math.min(to, cue.start);
  }
  return { from, to };
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
