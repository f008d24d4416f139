// Longest-match lookup of word phrases in a token list, indexed by first word. Words compare
// by a light singular form so "opacities" finds "opacity" and "effusions" finds "effusion".
import type { Token } from './sentence-splitter.ts';

export interface PhraseMatch<T> {
  readonly value: T;
  /** Token indices, end exclusive. */
  readonly start: number;
  readonly end: number;
}

const IRREGULAR: Readonly<Record<string, string>> = {
  pneumothoraces: 'pneumothorax',
  pneumothoraxes: 'pneumothorax',
  atelectases: 'atelectasis',
  apices: 'apex',
  bases: 'base',
  hila: 'hilum',
  metastases: 'metastasis',
  diagnoses: 'diagnosis',
  masses: 'mass',
  bullae: 'bulla',
  sequelae: 'sequela',
  "n't": 'not',
  ca: 'can',
  wo: 'will',
};

/** The form words are compared in: lower case, singular. */
export function wordKey(word: string): string {
  const lower = word.toLowerCase();
  const irregular = IRREGULAR[lower];
  if (irregular) return irregular;
  if (lower.length > 4 && lower.endsWith('ies')) return `${lower.slice(0, -3)}y`;
  if (lower.length > 3 && lower.endsWith('s') && !/(ss|us|is|ous)$/.test(lower)) return lower.slice(0, -1);
  return lower;
}

/** Splits a phrase as the tokenizer would: words, with hyphens and slashes as spaces. */
export function phraseKeys(phrase: string): string[] {
  return phrase
    .toLowerCase()
    .split(/[\s\-/]+/)
    .filter((w) => w !== '')
    // The tokenizer reads "cannot" as "can" "not"; phrases are written either way.
    .flatMap((w) => (w === 'cannot' ? ['can', 'not'] : [w]))
    .map(wordKey);
}

export class PhraseIndex<T> {
  private readonly byFirst = new Map<string, { keys: string[]; value: T }[]>();

  constructor(entries: Iterable<readonly [phrase: string, value: T]>) {
    for (const [phrase, value] of entries) {
      const keys = phraseKeys(phrase);
      const first = keys[0];
      if (first === undefined) continue;
      const list = this.byFirst.get(first) ?? [];
      list.push({ keys, value });
      list.sort((a, b) => b.keys.length - a.keys.length);
      this.byFirst.set(first, list);
    }
  }

  /** The longest phrase starting at `at`, or null. */
  matchAt(keys: readonly string[], at: number): PhraseMatch<T> | null {
    const candidates = this.byFirst.get(keys[at] ?? '');
    if (!candidates) return null;
    for (const candidate of candidates) {
      if (candidate.keys.every((key, i) => keys[at + i] === key)) return { value: candidate.value, start: at, end: at + candidate.keys.length };
    }
    return null;
  }

  /** Non-overlapping longest matches, left to right, skipping tokens for which `blocked` is true. */
  matchAll(keys: readonly string[], blocked: (index: number) => boolean = () => false): PhraseMatch<T>[] {
    const matches: PhraseMatch<T>[] = [];
    let at = 0;
    while (at < keys.length) {
      const match = blocked(at) ? null : this.matchAt(keys, at);
      if (match && !rangeBlocked(match, blocked)) {
        matches.push(match);
        at = match.end;
      } else {
        at += 1;
      }
    }
    return matches;
  }
}

function rangeBlocked(match: { start: number; end: number }, blocked: (index: number) => boolean): boolean {
  for (let i = match.start; i < match.end; i += 1) if (blocked(i)) return true;
  return false;
}

export function tokenKeys(tokens: readonly Token[]): string[] {
  return tokens.map((t) => wordKey(t.norm));
}
