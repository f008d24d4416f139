import { normaliseCode, type Side, type Zone } from './finding-geometry.ts';

/**
 * Which findings a sentence talks about, and whether it asserts or negates each one.
 *
 * Terms: a fixed list per code of the reference model (its decoder's vocabulary and the
 * phantom generator's wording, e.g. "The heart is enlarged" for cardiomegaly, "blunting of the
 * costophrenic angle" for an effusion), plus, for any model, the finding's display name and its
 * code written as words ("lung_opacity" → "lung opacity").
 *
 * Negation is decided per mention, within its clause (a clause ends at ";" or at "but",
 * "however", "although", "though", "whereas", "except"), so "No pneumothorax, but a small right
 * pleural effusion." negates the pneumothorax only. A mention is negated by a cue before it in
 * its clause ("No ...", "without ...", "negative for ...", "free of ...") or by one between it
 * and the next mention ("... is not seen", "... has resolved", "Pneumothorax: none"). Hedges
 * are not negations: "cannot be excluded", "cannot rule out" and "not excluded" keep the
 * finding asserted, and "no change in" / "no interval change" do not negate what follows.
 */

export interface Mention {
  /** Normalised finding code (see normaliseCode). */
  code: string;
  /** Offsets of the matched term in the lower-cased sentence. */
  index: number;
  end: number;
  negated: boolean;
  /** Patient side named in the mention's clause, if any. */
  side: Side | null;
  /** Lung zone named in the mention's clause, if any ("upper zone", "left base", "apical"). */
  zone: Zone | null;
}

export interface FindingTerms {
  code: string;
  display: string;
}

const KNOWN_TERMS: Readonly<Record<string, RegExp>> = {
  nodule: /\bnodul(?:e|es|ar|arity)\b/g,
  mass: /\bmass(?:es)?\b/g,
  pleural_effusion: /\beffusions?\b|\bblunt(?:ing|ed)?\s+(?:of\s+)?(?:the\s+)?(?:(?:right|left|both)\s+)?costophrenic\b|\bcostophrenic\s+angles?\s+(?:is\s+|are\s+)?blunt/g,
  pneumothorax: /\bpneumothora(?:x|ces)\b/g,
  cardiomegaly: /\bcardiomegaly\b|\bcardiac\s+enlargement\b|\benlarged\s+(?:heart|cardiac\s+silhouette)\b|\bheart\s+(?:is\s+|appears\s+|remains\s+)?enlarged\b/g,
};

const CLAUSE_BREAK = /;|\b(?:but|however|although|though|whereas|except)\b/g;
const HEDGE =
  /\b(?:cannot|can\s?not|could\s+not|can't|unable\s+to)\s+(?:be\s+)?(?:excluded?|ruled?\s+out)\b|\bnot\s+(?:be\s+)?(?:excluded|ruled\s+out)\b|\bno\s+(?:significant\s+|interval\s+)?change\b/g;
const NEGATION_BEFORE = /\b(?:no|not|without|negative\s+for|free\s+of|absence\s+of|absent|resolved|resolution\s+of|ruled\s+out|rule\s+out|exclude[sd]?|nor|neither)\b/;
const NEGATION_AFTER =
  /\b(?:not\s+(?:seen|identified|present|visible|demonstrated|evident|appreciated|detected|shown)|absent|resolved|excluded|ruled\s+out)\b|:\s*(?:none|no|absent|negative)\b/;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Term patterns (global, for lower-case text) per normalised code of the given findings. */
export function termPatterns(findings: readonly FindingTerms[]): Map<string, RegExp> {
  const patterns = new Map<string, RegExp>();
  for (const finding of findings) {
    const code = normaliseCode(finding.code);
    if (patterns.has(code)) continue;
    const phrases = [finding.display, code.replace(/_/g, ' ')]
      .map((p) => p.trim().toLowerCase())
      .filter((p) => /\p{L}{3,}/u.test(p))
      .map((p) => `\\b${p.split(/\s+/).map(escapeRegExp).join('\\s+')}\\b`);
    const sources = [KNOWN_TERMS[code]?.source, ...phrases].filter((s): s is string => Boolean(s));
    if (sources.length > 0) patterns.set(code, new RegExp(sources.join('|'), 'gu'));
  }
  return patterns;
}

/** Every mention of a finding in one sentence, in text order. */
export function findMentions(sentence: string, patterns: ReadonlyMap<string, RegExp>): Mention[] {
  const lower = sentence.toLowerCase();
  const raw: Array<{ code: string; index: number; end: number }> = [];
  for (const [code, pattern] of patterns) {
    for (const match of lower.matchAll(pattern)) {
      if (match[0].length === 0) continue;
      raw.push({ code, index: match.index, end: match.index + match[0].length });
    }
  }
  raw.sort((a, b) => a.index - b.index || b.end - a.end);
  // One finding per stretch of text: a term matched by two codes' patterns counts once.
  const hits = raw.filter((hit, i) => i === 0 || hit.index >= raw[i - 1]!.end);

  const breaks = [...lower.matchAll(CLAUSE_BREAK)].map((m) => ({ index: m.index, end: m.index + m[0].length }));
  return hits.map((hit, i) => {
    const clauseStart = Math.max(0, ...breaks.filter((b) => b.end <= hit.index).map((b) => b.end));
    const clauseEnd = Math.min(lower.length, ...breaks.filter((b) => b.index >= hit.end).map((b) => b.index));
    const next = hits[i + 1]?.index ?? lower.length;
    const before = withoutHedges(lower.slice(clauseStart, hit.index));
    const after = withoutHedges(lower.slice(hit.end, Math.min(clauseEnd, Math.max(hit.end, next))));
    return {
      code: hit.code,
      index: hit.index,
      end: hit.end,
      negated: NEGATION_BEFORE.test(before) || NEGATION_AFTER.test(after),
      side: sideWords(lower.slice(clauseStart, clauseEnd)),
      zone: zoneWords(lower.slice(clauseStart, clauseEnd)),
    };
  });
}

/** Normalised codes the text asserts somewhere (any sentence, not negated). */
export function assertedCodes(mentionsBySentence: readonly Mention[][]): Set<string> {
  return new Set(mentionsBySentence.flat().filter((m) => !m.negated).map((m) => m.code));
}

function withoutHedges(text: string): string {
  return text.replace(HEDGE, ' ');
}

/**
 * A single zone named in a clause; null when none or several are named ("upper or middle zone").
 * Zone adjectives count only in a clause that speaks of zones, lobes or lungs.
 */
function zoneWords(clause: string): Zone | null {
  const zones = new Set<Zone>();
  const aboutZones = /\b(?:zones?|lobes?|lungs?|mid-?zone)\b/.test(clause);
  if (/\b(?:apex|apices|apical)\b/.test(clause) || (aboutZones && /\bupper\b/.test(clause))) zones.add('upper');
  if (/\b(?:mid-?zone|perihilar)\b/.test(clause) || (aboutZones && /\b(?:mid|middle)\b/.test(clause))) zones.add('middle');
  if (/\b(?:bases?|basal|basilar)\b/.test(clause) || (aboutZones && /\blower\b/.test(clause))) zones.add('lower');
  return zones.size === 1 ? [...zones][0]! : null;
}

function sideWords(clause: string): Side | null {
  const right = /\bright\b/.test(clause);
  const left = /\bleft\b/.test(clause);
  if (/\b(?:bilateral(?:ly)?|both)\b/.test(clause) || (right && left)) return 'bilateral';
  if (right) return 'right';
  if (left) return 'left';
  return null;
}
