// The status of each finding mention in a sentence: the negation and hedging cues of
// assertion-triggers.ts, their scopes, and the rules that read across findings (alternatives,
// findings linked to denied evidence, structures said to be normal).
import { CUES, type CueKind } from './assertion-triggers.ts';
import type { LexiconEntry } from './finding-lexicon.ts';
import type { HeartSize } from './heart-size.ts';
import { PhraseIndex, phraseKeys, type PhraseMatch } from './phrase-matcher.ts';
import type { Token } from './sentence-splitter.ts';

export type MentionStatus = 'present' | 'absent' | 'uncertain';
/** How strongly an uncertain mention is put: "probable" (likely, suggestive of, suspected) or
 * "possible" (may, could, cannot exclude, versus), after the usual certainty scale of reports. */
export type Certainty = 'probable' | 'possible';

export interface Assertion {
  status: MentionStatus;
  certainty?: Certainty;
  cue?: string;
}

/** A finding's words in a sentence (token indices, end exclusive). */
export interface Candidate {
  entry: LexiconEntry;
  start: number;
  end: number;
  heart?: { size: HeartSize; modifier: PhraseMatch<HeartSize> };
}

export interface Cue {
  value: CueKind[];
  start: number;
  end: number;
}

const PROBABLE_CUES = new Set([
  'likely', 'most likely', 'probable', 'probably', 'presumed', 'presumably', 'suspected', 'suspect', 'suspicious for', 'suspicious of',
  'suspicion of', 'suspicion for', 'suggestive of', 'suggesting', 'suggests', 'suggest', 'concerning for', 'concern for', 'worrisome for',
  'favor', 'favored', 'favour', 'is favored', 'is likely', 'are likely', 'is probably', 'are probably', 'is probable', 'is suspected', 'are suspected', 'suspected', 'represent',
  'represents', 'representing', 'reflect', 'reflects', 'reflecting', 'apparent', 'is suggested', 'suggested', 'borderline', 'borderline enlarged',
  'likely due to', 'probably due to', 'likely related to', 'likely secondary to',
]);

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

const PRE_WINDOW = 12;
const POST_WINDOW = 10;

function statusOf(candidate: Candidate, all: readonly Candidate[], cues: readonly Cue[], tokens: readonly Token[], text: string): Assertion {
  const cueText = (cue: { start: number; end: number }): string => text.slice(tokens[cue.start]?.start ?? 0, tokens[cue.end - 1]?.end ?? 0);
  if (candidate.heart?.size === 'normal') {
    // "Heart size is not normal" says the opposite.
    const { modifier } = candidate.heart;
    const denied = cues.find((c) => c.start >= candidate.start && c.end <= modifier.start && (c.value.includes('preNegation') || c.value.includes('postNegation')));
    return denied ? { status: 'present', cue: `${cueText(denied)} ${cueText(candidate.heart.modifier)}` } : { status: 'absent', cue: cueText(candidate.heart.modifier) };
  }

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

// "Vascular markings are normal", "normal hila", "bony structures are intact", "vascular
// engorgement appears within normal limits": what is said to be normal is not an abnormality.
const NORMAL_WORDS = new Set(['normal', 'unremarkable', 'intact', 'satisfactory', 'maintained', 'preserved']);
const LINKING_WORDS = new Set(['is', 'are', 'appear', 'appears', 'remain', 'remains', 'be', 'to', 'and', 'within', 'grossly', 'otherwise', 'the', 'overall', 'limit', 'of']);

function describedNormal(candidates: readonly Candidate[], statuses: Assertion[], keys: readonly string[], tokens: readonly Token[], text: string): void {
  candidates.forEach((candidate, index) => {
    if (candidate.heart || statuses[index]?.status !== 'present') return;
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

/** The cues in a sentence's tokens, longest first, left to right. */
export function findCues(keys: readonly string[]): Cue[] {
  return cueIndex.matchAll(keys);
}

/** The assertion of each candidate, in order. Cues inside a finding's own words are not cues. */
export function assertionsOf(candidates: readonly Candidate[], allCues: readonly Cue[], keys: readonly string[], tokens: readonly Token[], text: string): Assertion[] {
  const cues = freeCues(candidates, allCues);
  const statuses = candidates.map((candidate) => statusOf(candidate, candidates, cues, tokens, text));
  hedgeAlternatives(candidates, statuses, cues, tokens, text);
  inheritDeniedEvidence(candidates, statuses, cues, tokens, text);
  describedNormal(candidates, statuses, keys, tokens, text);
  return statuses;
}

/** Cues that are not part of a finding's words ("heart is not enlarged" keeps its "not"). */
export function freeCues(candidates: readonly Candidate[], cues: readonly Cue[]): Cue[] {
  return cues.filter((c) => !candidates.some((m) => c.start < m.end && c.end > m.start && !m.heart));
}

/** The clause around a candidate: between the terminators before and after it. */
export function clauseAround(candidate: Candidate, cues: readonly Cue[], length: number): { from: number; to: number } {
  let from = 0;
  let to = length;
  for (const cue of cues) {
    if (!cue.value.includes('terminator')) continue;
    if (cue.end <= candidate.start) from = Math.max(from, cue.end);
    if (cue.start >= candidate.end) to = Math.min(to, cue.start);
  }
  return { from, to };
}
