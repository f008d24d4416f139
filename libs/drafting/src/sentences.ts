/**
 * Splits report text into sentences with character offsets, so a sentence can be linked to a
 * finding and highlighted in the text it came from (`text.slice(start, end) === sentence.text`).
 *
 * A sentence ends at a line break, or at `.`, `!` or `?` (with any closing quotes or brackets)
 * followed by white space or the end of the text. A full stop does not end a sentence when it
 * is inside a number ("1.5 cm", "0.62": no space follows), ends a known abbreviation ("approx.",
 * "e.g."), ends a list marker at the start of a sentence ("1. Right pleural effusion."), or is
 * followed by a lower-case word. Total on any input: it never throws.
 */

export interface SentenceSpan {
  text: string;
  start: number;
  end: number;
}

/** Lower case, without the final full stop. Units ("cm", "mm") are not here: they end sentences. */
const ABBREVIATIONS = new Set(['e.g', 'i.e', 'approx', 'appr', 'vs', 'cf', 'dr', 'fig', 'figs', 'incl', 'resp', 'ca', 'pt', 'ref']);

const TERMINATORS = new Set(['.', '!', '?']);
const CLOSERS = new Set(['.', '!', '?', '"', "'", '\u201d', '\u2019', ')', ']']);
const isSpace = (ch: string | undefined): boolean => ch !== undefined && /\s/.test(ch);

export function splitSentences(text: string): SentenceSpan[] {
  const spans: SentenceSpan[] = [];
  const push = (from: number, to: number): void => {
    let a = from;
    let b = to;
    while (a < b && isSpace(text[a])) a++;
    while (b > a && isSpace(text[b - 1])) b--;
    if (b > a) spans.push({ text: text.slice(a, b), start: a, end: b });
  };
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (ch === '\n') {
      push(start, i);
      start = i + 1;
      continue;
    }
    if (!TERMINATORS.has(ch)) continue;
    let end = i + 1;
    while (end < text.length && CLOSERS.has(text[end]!)) end++;
    const endsHere = (end === text.length || isSpace(text[end])) && (ch !== '.' || fullStopEndsSentence(text, start, i, end));
    if (endsHere) {
      push(start, end);
      start = end;
    }
    i = end - 1;
  }
  push(start, text.length);
  return spans;
}

function fullStopEndsSentence(text: string, sentenceStart: number, dot: number, after: number): boolean {
  const before = text.slice(sentenceStart, dot);
  const word = /[\p{L}.]+$/u.exec(before)?.[0].toLowerCase() ?? '';
  if (ABBREVIATIONS.has(word)) return false;
  // "1." or "a." opening a sentence is a list marker.
  if (/^\s*(?:\d{1,2}|[a-z])$/i.test(before)) return false;
  let next = after;
  while (next < text.length && text[next] !== '\n' && isSpace(text[next])) next++;
  const following = text[next];
  return !(following !== undefined && following !== '\n' && /\p{Ll}/u.test(following));
}
