// Sentences and tokens of report text. wink-nlp (with its small English model, loaded from the
// npm package, no network) does the sentence boundaries and the tokenising: it knows
// abbreviations ("e.g.", "Dr."), decimals ("1.5") and punctuation. Around it sit the few fixes
// report text needs: line structure (numbered impressions, one finding per line), a boundary it
// drew inside a measurement ("5 mm. nodule", "1.5x2.0 cm"), and hyphen/slash compounds
// ("left-sided", "and/or") split into words so phrases match either spelling.
import winkNLP, { type ItemSentence, type ItemToken } from 'wink-nlp';
import model from 'wink-eng-lite-web-model';

export type TokenKind = 'word' | 'number' | 'punct';

export interface Token {
  /** The text as written. */
  readonly text: string;
  /** Lower case, for matching. */
  readonly norm: string;
  readonly kind: TokenKind;
  /** Character offsets into the text given to `splitSentences`. */
  readonly start: number;
  readonly end: number;
}

export interface Sentence {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly tokens: readonly Token[];
}

const nlp = winkNLP(model, ['sbd']);
const its = nlp.its;

const LIST_MARKER = /^\s*(?:\d{1,2}[.)]|[-*•])\s+/;

/** Splits text into sentences with their tokens. Offsets refer to `text`. */
export function splitSentences(text: string): Sentence[] {
  const sentences: Sentence[] = [];
  for (const block of lineBlocks(text)) {
    const spans = windSentences(text.slice(block.start, block.end)).map((s) => ({ start: s.start + block.start, end: s.end + block.start }));
    for (const span of mergeBrokenSpans(text, spans)) {
      const tokens = tokenize(text, span.start, span.end);
      if (tokens.length > 0) sentences.push({ text: text.slice(span.start, span.end), start: span.start, end: span.end, tokens });
    }
  }
  return sentences;
}

interface Span {
  start: number;
  end: number;
}

// A line break ends a sentence when the line ended with punctuation, the next line is a list
// item, or a blank line follows; otherwise it is a wrapped line and the sentence goes on.
function lineBlocks(text: string): Span[] {
  const blocks: Span[] = [];
  const lines: Span[] = [];
  let at = 0;
  for (const line of text.split('\n')) {
    lines.push({ start: at, end: at + line.length });
    at += line.length + 1;
  }
  let current: Span | null = null;
  for (const line of lines) {
    const content = text.slice(line.start, line.end);
    if (content.trim() === '') {
      if (current) blocks.push(current);
      current = null;
      continue;
    }
    const listItem = LIST_MARKER.test(content);
    const previousEnded = current !== null && /[.;:!?]\s*$/.test(text.slice(current.start, current.end));
    if (current && (listItem || previousEnded)) {
      blocks.push(current);
      current = null;
    }
    current = current ? { start: current.start, end: line.end } : { ...line };
  }
  if (current) blocks.push(current);
  return blocks;
}

function windSentences(text: string): Span[] {
  const spans: Span[] = [];
  let cursor = 0;
  nlp.readDoc(text).sentences().each((sentence: ItemSentence) => {
    const value = sentence.out();
    const found = text.indexOf(value, cursor);
    const start = found >= 0 ? found : cursor;
    const end = found >= 0 ? found + value.length : text.length;
    spans.push({ start, end });
    cursor = end;
  });
  return spans;
}

// Mends boundaries that are not sentence ends: a piece that starts in lower case or with a digit
// right after a full stop ("5 mm. nodule", "1.5x2.0cm"), and a piece that is only a list marker
// ("2.") or has no letters, which joins the sentence after it.
function mergeBrokenSpans(text: string, spans: Span[]): Span[] {
  const merged: Span[] = [];
  let pending: Span | null = null;
  for (const span of spans) {
    const piece = text.slice(span.start, span.end);
    const previous = merged.at(-1);
    if (pending) {
      merged.push({ start: pending.start, end: span.end });
      pending = null;
    } else if (previous && (/^[a-z]/.test(piece) || (/^\d/.test(piece) && previous.end === span.start))) {
      previous.end = span.end;
    } else if (!/[a-z]/i.test(piece)) {
      pending = { ...span };
    } else {
      merged.push({ ...span });
    }
  }
  if (pending) merged.push(pending);
  return merged;
}

function tokenize(text: string, start: number, end: number): Token[] {
  const slice = text.slice(start, end);
  const tokens: Token[] = [];
  let cursor = 0;
  nlp.readDoc(slice).tokens().each((token: ItemToken) => {
    const value = token.out();
    const found = slice.indexOf(value, cursor);
    if (found < 0) return;
    cursor = found + value.length;
    const type = token.out(its.type);
    if (type === 'punctuation' && (value === '-' || value === '/')) return;
    const kind: TokenKind = type === 'number' ? 'number' : type === 'punctuation' ? 'punct' : 'word';
    for (const part of splitCompound(value, kind)) {
      const from = start + found + part.offset;
      tokens.push({ text: part.text, norm: part.text.toLowerCase(), kind: part.kind, start: from, end: from + part.text.length });
    }
  });
  return tokens;
}

// "left-sided" -> "left", "sided"; "and/or" -> "and", "or": the joiners are dropped so that
// phrases match whichever way they were written. A word the tokenizer kept with its full stop
// as an abbreviation ("mass." like "Mass.", "vs.") loses it, unless it has stops inside ("e.g.").
function splitCompound(value: string, kind: TokenKind): { text: string; offset: number; kind: TokenKind }[] {
  if (kind === 'word' && /^[^.]+\.$/.test(value)) {
    return [...splitCompound(value.slice(0, -1), kind), { text: '.', offset: value.length - 1, kind: 'punct' }];
  }
  if (kind !== 'word' || !/[-/]/.test(value)) return [{ text: value, offset: 0, kind }];
  const parts: { text: string; offset: number; kind: TokenKind }[] = [];
  const pattern = /[^-/]+/g;
  for (let match = pattern.exec(value); match; match = pattern.exec(value)) {
    parts.push({ text: match[0], offset: match.index, kind: /^\d+(?:\.\d+)?$/.test(match[0]) ? 'number' : 'word' });
  }
  return parts;
}
