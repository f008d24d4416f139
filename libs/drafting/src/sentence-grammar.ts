import { findMentions, termPatterns, type FindingTerms } from './finding-mentions.ts';
import { normaliseCode, type Side, type Zone } from './finding-geometry.ts';

/**
 * What a sentence of a draft says, and whether it is well formed.
 *
 * A model's decoder writes from a closed vocabulary (the reference model's is in its manifest,
 * `decoder.vocabulary`), trained on the phantom generator's report style (@cxr/phantom
 * report.ts), so the sentences it can mean to write are a small set of forms, one or two per
 * finding and one per pertinent negative. A decoded sentence is well formed when it is exactly
 * one of those forms; anything else ("A large mm mass in the right upper zone.": the effusion's
 * grade and an empty size spliced into a mass sentence) is malformed, and we say which structural
 * defect it has where we can name one. Each form also says what it asserts (finding, side, zone),
 * what it negates, and where its size or ratio sits, so the size can be rewritten or left out.
 *
 * The sentences the drafting code writes itself (the templated finding sentence, the fixed
 * normal/no-text sentences) are forms of every model. A model without a registered wording gets
 * the structural checks only (a unit without a number, a number without a unit, a word twice in
 * a row, a sentence that ends on a dangling word, stray punctuation, no capital or no full stop),
 * and its sentences' meaning is read with finding-mentions.ts.
 */

export type SectionName = 'findings' | 'impression';

export interface StatedFinding {
  /** Normalised finding code (see normaliseCode). */
  code: string;
  side: Side | null;
  zone: Zone | null;
}

export interface SentenceSize {
  /** `mm`: a length; `ratio`: a cardiothoracic ratio. */
  kind: 'mm' | 'ratio';
  value: number;
  /** The finding it measures (normalised code). */
  code: string;
}

export interface SentenceMeaning {
  asserts: StatedFinding[];
  /** Normalised codes the sentence says are absent; NEGATES_EVERYTHING for "no abnormality". */
  negates: string[];
  /** The sentence says the study is normal. */
  normal: boolean;
  size: SentenceSize | null;
  /**
   * The same sentence with the size given (a number) or left out (null). Absent where the form
   * cannot be rewritten (free wording): such a sentence is replaced instead.
   */
  rewrite?: (size: number | null) => string;
}

export type SentenceReading =
  | { wellFormed: true; form: string; meaning: SentenceMeaning }
  | { wellFormed: false; defect: string; meaning: SentenceMeaning };

export interface SentenceForm {
  name: string;
  section: SectionName | 'any';
  pattern: RegExp;
  read: (match: RegExpExecArray) => SentenceMeaning;
}

export interface SentenceWording {
  /** Model package ids that write this way. */
  modelIds: readonly string[];
  forms: readonly SentenceForm[];
}

/** Negated by a sentence that says there is no abnormality at all. */
export const NEGATES_EVERYTHING = '*';

export const NO_FINDINGS_TEXT = 'No findings text was generated.';
export const NO_IMPRESSION_TEXT = 'No impression was generated.';
export const NORMAL_STUDY_IMPRESSION = 'No acute cardiopulmonary abnormality detected by the AI model.';
/** Why an answer to the clinical question is neither yes nor no (clinical-question.ts). */
export const BORDERLINE_CALL = 'the AI call is borderline (low confidence)';

const LUNG_FINDINGS = ['nodule', 'mass', 'pleural_effusion', 'pneumothorax'];

const none = (): SentenceMeaning => ({ asserts: [], negates: [], normal: false, size: null });
const negative = (...codes: string[]) => (): SentenceMeaning => ({ ...none(), negates: codes });
const side = (word: string): Side => word.toLowerCase() as Side;
const sizeOf = (kind: SentenceSize['kind'], text: string | undefined, code: string): SentenceSize | null =>
  text === undefined ? null : { kind, value: Number(text), code };

/** The reference models' sentence forms (the GRU's and reference-cxr-vlm's transformer, both trained on them): @cxr/phantom report.ts's wording, sizes optional. */
export const REFERENCE_WORDING: SentenceWording = {
  modelIds: ['reference-cxr', 'reference-cxr-vlm'],
  forms: [
    {
      name: 'lesion',
      section: 'findings',
      pattern: /^A (?:(\d+) mm )?(nodule|mass) in the (right|left) (upper|middle|lower) zone\.$/,
      read: (m) => ({
        ...none(),
        asserts: [{ code: m[2]!, side: side(m[3]!), zone: m[4] as Zone }],
        size: sizeOf('mm', m[1], m[2]!),
        rewrite: (size) => `A ${size === null ? '' : `${size} mm `}${m[2]} in the ${m[3]} ${m[4]} zone.`,
      }),
    },
    {
      name: 'small effusion',
      section: 'findings',
      pattern: /^A small (right|left) pleural effusion blunting the costophrenic angle\.$/,
      read: (m) => ({ ...none(), asserts: [{ code: 'pleural_effusion', side: side(m[1]!), zone: 'lower' }] }),
    },
    {
      name: 'graded effusion',
      section: 'findings',
      pattern: /^A (?:small|moderate|large) (right|left) pleural effusion\.$/,
      read: (m) => ({ ...none(), asserts: [{ code: 'pleural_effusion', side: side(m[1]!), zone: 'lower' }] }),
    },
    {
      name: 'pneumothorax',
      section: 'findings',
      pattern: /^A (?:(\d+) mm )?(right|left) apical pneumothorax with a visible pleural line\.$/,
      read: (m) => ({
        ...none(),
        asserts: [{ code: 'pneumothorax', side: side(m[2]!), zone: 'upper' }],
        size: sizeOf('mm', m[1], 'pneumothorax'),
        rewrite: (size) => `A ${size === null ? '' : `${size} mm `}${m[2]} apical pneumothorax with a visible pleural line.`,
      }),
    },
    {
      name: 'enlarged heart',
      section: 'findings',
      pattern: /^The heart is enlarged(?:, with a cardiothoracic ratio of (0\.\d\d))?\.$/,
      read: (m) => ({
        ...none(),
        asserts: [{ code: 'cardiomegaly', side: 'midline', zone: null }],
        size: sizeOf('ratio', m[1], 'cardiomegaly'),
        rewrite: (ratio) => (ratio === null ? 'The heart is enlarged.' : `The heart is enlarged, with a cardiothoracic ratio of ${ratio.toFixed(2)}.`),
      }),
    },
    { name: 'clear lungs', section: 'findings', pattern: /^The lungs are clear\.$/, read: negative(...LUNG_FINDINGS) },
    { name: 'no lesion', section: 'findings', pattern: /^No focal lung lesion\.$/, read: negative('nodule', 'mass') },
    { name: 'no effusion', section: 'findings', pattern: /^No pleural effusion\.$/, read: negative('pleural_effusion') },
    { name: 'no pneumothorax', section: 'findings', pattern: /^No pneumothorax\.$/, read: negative('pneumothorax') },
    { name: 'normal heart', section: 'findings', pattern: /^Heart size is normal\.$/, read: negative('cardiomegaly') },
    {
      name: 'lesion impression',
      section: 'impression',
      pattern: /^(Right|Left) (upper|middle|lower) zone (nodule|mass)\.$/,
      read: (m) => ({ ...none(), asserts: [{ code: m[3]!, side: side(m[1]!), zone: m[2] as Zone }] }),
    },
    {
      name: 'effusion impression',
      section: 'impression',
      pattern: /^(Right|Left) pleural effusion\.$/,
      read: (m) => ({ ...none(), asserts: [{ code: 'pleural_effusion', side: side(m[1]!), zone: 'lower' }] }),
    },
    {
      name: 'pneumothorax impression',
      section: 'impression',
      pattern: /^(Right|Left) pneumothorax\.$/,
      read: (m) => ({ ...none(), asserts: [{ code: 'pneumothorax', side: side(m[1]!), zone: 'upper' }] }),
    },
    { name: 'cardiomegaly impression', section: 'impression', pattern: /^Cardiomegaly\.$/, read: () => ({ ...none(), asserts: [{ code: 'cardiomegaly', side: 'midline', zone: null }] }) },
    {
      name: 'normal impression',
      section: 'impression',
      pattern: /^No acute cardiopulmonary abnormality\.$/,
      read: () => ({ ...none(), negates: [NEGATES_EVERYTHING], normal: true }),
    },
  ],
};

const WORDINGS: readonly SentenceWording[] = [REFERENCE_WORDING];

/** The sentence forms of a model package, or null when none is registered (structural checks only). */
export function wordingFor(modelId: string): SentenceWording | null {
  return WORDINGS.find((w) => w.modelIds.includes(modelId)) ?? null;
}

/** Says the whole study is normal, in the words of any model (not only the reference one). */
const NORMAL_STATEMENT =
  /\bno\s+(?:(?:acute|significant|active|focal)\s+)*(?:cardiopulmonary\s+|radiographic\s+|intrathoracic\s+)?(?:abnormalit(?:y|ies)|disease|process|findings?)\b|\bnormal\s+(?:chest\s+)?(?:study|radiograph|examination|x-ray)\b|\bunremarkable\b/i;

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Forms every model shares: what the drafting code itself writes. */
function draftingForms(findings: readonly FindingTerms[], answers: boolean): SentenceForm[] {
  const byDisplay = new Map<string, string>();
  for (const f of findings) {
    const name = f.display.charAt(0).toUpperCase() + f.display.slice(1);
    if (!byDisplay.has(name)) byDisplay.set(name, normaliseCode(f.code));
  }
  const forms: SentenceForm[] = [
    { name: 'normal study', section: 'impression', pattern: new RegExp(`^${escapeRegExp(NORMAL_STUDY_IMPRESSION)}$`), read: () => ({ ...none(), negates: [NEGATES_EVERYTHING], normal: true }) },
    { name: 'no findings text', section: 'findings', pattern: new RegExp(`^${escapeRegExp(NO_FINDINGS_TEXT)}$`), read: none },
    { name: 'no impression', section: 'impression', pattern: new RegExp(`^${escapeRegExp(NO_IMPRESSION_TEXT)}$`), read: none },
  ];
  if (byDisplay.size > 0) {
    const names = [...byDisplay.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
    // The answers to the clinical question (clinical-question.ts), in the impression. Only where the
    // text may hold them: the model's own text has not been answered yet, and these are not its forms.
    if (answers) {
      const lowerNames = new Map([...byDisplay].map(([name, code]) => [name.toLowerCase(), code]));
      const lower = [...lowerNames.keys()].sort((a, b) => b.length - a.length).map(escapeRegExp).join('|');
      forms.push(
        { name: 'answered negative', section: 'impression', pattern: new RegExp(`^No (${lower})\\.$`), read: (m) => ({ ...none(), negates: [lowerNames.get(m[1]!)!] }) },
        { name: 'answered borderline negative', section: 'impression', pattern: new RegExp(`^(?:${names}) is not excluded: ${escapeRegExp(BORDERLINE_CALL)}\\.$`), read: none },
        { name: 'answered borderline positive', section: 'impression', pattern: new RegExp(`^The AI call on (?:${lower}) is borderline \\(low confidence\\)\\.$`), read: none },
      );
    }
    forms.push({
      name: 'templated finding',
      section: 'any',
      pattern: new RegExp(`^(${names})(?: in the (right|left) (upper|middle|lower) zone| on the (right|left)|(, bilateral)(?:, (upper|middle|lower) zones)?)? \\((?:high|moderate|low) confidence\\)\\.$`),
      read: (m) => ({
        ...none(),
        asserts: [{ code: byDisplay.get(m[1]!)!, side: (m[2] ?? m[4] ?? (m[5] ? 'bilateral' : null)) as Side | null, zone: (m[3] ?? m[6] ?? null) as Zone | null }],
      }),
    });
  }
  return forms;
}

export interface ReadingContext {
  wording: SentenceWording | null;
  /** The classifier's findings (code and display), for the templated form and for reading free wording. */
  findings: readonly FindingTerms[];
  /** Whether the text may hold the drafting code's answers to the clinical question (a finished draft: yes; the model's text: no). */
  answers?: boolean;
}

/** Reads one sentence (as splitSentences gives it) of the given section. */
export function readSentence(sentence: string, section: SectionName, context: ReadingContext): SentenceReading {
  const text = sentence.trim();
  const forms = [...draftingForms(context.findings, context.answers === true), ...(context.wording?.forms ?? [])];
  for (const form of forms) {
    if (form.section !== 'any' && form.section !== section) continue;
    const match = form.pattern.exec(text);
    if (match) return { wellFormed: true, form: form.name, meaning: form.read(match) };
  }
  const meaning = freeMeaning(text, context.findings);
  const defect = structuralDefect(text);
  if (defect) return { wellFormed: false, defect, meaning };
  if (context.wording) return { wellFormed: false, defect: `not one of the model's ${section} sentence forms`, meaning };
  return { wellFormed: true, form: 'free', meaning };
}

/** Meaning of a sentence in free wording: its finding mentions, and a size in mm if it gives one. */
function freeMeaning(text: string, findings: readonly FindingTerms[]): SentenceMeaning {
  const mentions = findMentions(text, termPatterns(findings));
  const asserts = mentions.filter((m) => !m.negated).map((m) => ({ code: m.code, side: m.side, zone: m.zone }));
  const negates = mentions.filter((m) => m.negated).map((m) => m.code);
  const normal = asserts.length === 0 && NORMAL_STATEMENT.test(text);
  const mm = /(\d+(?:\.\d+)?)\s*(mm|cm)\b/i.exec(text);
  const first = asserts[0];
  const size = mm && first ? { kind: 'mm' as const, value: Number(mm[1]) * (mm[2]!.toLowerCase() === 'cm' ? 10 : 1), code: first.code } : null;
  return { asserts, negates: normal ? [NEGATES_EVERYTHING, ...negates] : negates, normal, size };
}

const UNITS = new Set(['mm', 'cm', '%']);
const DANGLING = new Set(['a', 'an', 'the', 'of', 'in', 'with', 'and', 'or', 'to', 'on', 'at', 'is', 'are', 'by', 'for', 'from']);
const TOKEN = /\d+(?:\.\d+)?|\p{L}+(?:[-'’]\p{L}+)*|%|[^\s\p{L}\d]/gu;
const isNumber = (t: string): boolean => /^\d/.test(t);

/** The first structural defect of a sentence, in words, or null. */
export function structuralDefect(sentence: string): string | null {
  const text = sentence.trim();
  if (!/\p{L}/u.test(text)) return 'no words';
  if (!/[.!?]$/.test(text)) return 'no closing full stop';
  if (!/^(?:\p{Lu}|\d)/u.test(text)) return 'does not start with a capital letter';
  if (/[.,;:]\s*[.,;:]|^[,.;:]/.test(text)) return 'stray punctuation';
  const tokens = [...text.matchAll(TOKEN)].map((m) => m[0]);
  const words = tokens.map((t) => t.toLowerCase());
  for (let i = 0; i < tokens.length; i++) {
    const t = words[i]!;
    const prev = words[i - 1];
    const next = words[i + 1];
    if (prev !== undefined && /\p{L}|\d/u.test(t) && t === prev) return `a word twice in a row ("${tokens[i]}")`;
    if (UNITS.has(t) && (prev === undefined || !isNumber(prev))) return `a unit without a number ("${tokens[i]}")`;
    if (isNumber(t)) {
      const listMarker = i === 0 && next === '.';
      const ratio = prev === 'of' && words[i - 2] === 'ratio';
      if (!listMarker && !ratio && (next === undefined || !UNITS.has(next))) return `a number without a unit ("${tokens[i]}")`;
    }
  }
  const last = [...words].reverse().find((w) => /\p{L}/u.test(w));
  if (last !== undefined && DANGLING.has(last) && words[words.length - 2] === last) return `ends on a dangling word ("${last}")`;
  return null;
}
