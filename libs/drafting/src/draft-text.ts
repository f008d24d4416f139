import type { ConfidenceBand, Region, TextEdit } from '@cxr/contracts';
import { normaliseCode, type Side, type Zone } from './finding-geometry.ts';
import { findingSentence } from './finding-sentence.ts';
import { placeDisagrees } from './place-agreement.ts';
import {
  NEGATES_EVERYTHING,
  NO_FINDINGS_TEXT,
  NORMAL_STUDY_IMPRESSION,
  readSentence,
  type ReadingContext,
  type SectionName,
  type SentenceMeaning,
  type SentenceWording,
  type StatedFinding,
} from './sentence-grammar.ts';
import { measuredSizeMm, type MeasurableImage } from './size-measurement.ts';
import { splitSentences } from './sentences.ts';

/**
 * The text of an AI draft: the model's decoded text, checked sentence by sentence against the
 * classifier's decisions for its image, so that the draft agrees with its own findings by
 * construction. Pure: the report service's composeDraft and the evaluation harness both call it.
 *
 * Per image, per section (findings, then impression), each decoded sentence is read
 * (sentence-grammar.ts) and, in this order:
 * - incomplete-text: the image's decoding stopped at maxLength without its stop token (`complete:
 *   false`): all its text is dropped, whatever it says, since it is cut off somewhere;
 * - malformed: not a sentence form of the model (or structurally broken): replaced by the
 *   templated sentence of the positive finding it talks about, unless that finding is already
 *   stated; otherwise dropped;
 * - asserts-negative: it states a finding this image's classifier does not call positive: dropped;
 * - negates-positive: it says a finding is absent that the classifier calls positive on any
 *   image of the study, or says the study is normal when something is positive: dropped;
 * - repeated: the same sentence again in the section is dropped;
 * - restated-finding: a finding already stated in the section is not stated again (two images
 *   of one study, or the decoder saying it twice with different places), except the other side
 *   of a finding the heatmap shows as bilateral;
 * - disagrees-with-findings (impression only): it places a finding on another side, or a lesion
 *   in another zone, than the findings section does: dropped (place-agreement.ts);
 * - sizes: a size the model wrote is replaced by the one measured on the image
 *   (size-measurement.ts: pixel spacing and the heatmap's hot area), `measured-size`; where there
 *   is no measurement it is taken out of the sentence, `unmeasured-size` (a free-wording sentence
 *   that cannot be rewritten is replaced by the templated one); the rewritten sentence is checked
 *   for repetition again.
 * Then every positive finding that the section does not state gets its templated sentence
 * (`missing-positive`, one per finding code, from its most probable image), in findings and in
 * impression alike, so the impression agrees with the findings; in the impression it is placed
 * where the findings place the finding. A study with nothing positive
 * keeps an impression that says it is normal, or gets NORMAL_STUDY_IMPRESSION. Each change is
 * returned as a TextEdit, for the draft's provenance.
 */

export interface DraftTextFinding {
  instanceKey: string;
  code: string;
  display: string;
  probability: number;
  positive: boolean;
  confidence: ConfidenceBand;
  side: Side | null;
  zone: Zone | null;
  region: Region | null;
}

export interface DraftTextImage extends MeasurableImage {
  instanceKey: string;
  text: { findings: string; impression: string; complete?: boolean | undefined };
}

export interface DraftText {
  sections: { findings: string; impression: string };
  edits: TextEdit[];
}

interface SectionState {
  paragraphs: string[][];
  /** Findings stated so far in this section, by normalised code, with the place each sentence gives. */
  stated: Map<string, StatedFinding[]>;
  seen: Set<string>;
  /** In the impression: what the findings section states, which the impression must agree with. */
  findingsStated: ReadonlyMap<string, readonly StatedFinding[]> | null;
}

const normalised = (s: string): string => s.trim().replace(/\s+/g, ' ').toLowerCase();

export function composeDraftText(images: readonly DraftTextImage[], findings: readonly DraftTextFinding[], wording: SentenceWording | null): DraftText {
  const edits: TextEdit[] = [];
  const context: ReadingContext = { wording, findings };
  const positiveCodes = new Set(findings.filter((f) => f.positive).map((f) => normaliseCode(f.code)));
  const strongest = strongestPositivePerCode(findings);

  let findingsStated: ReadonlyMap<string, readonly StatedFinding[]> | null = null;
  const section = (name: SectionName): string => {
    const state: SectionState = { paragraphs: [], stated: new Map(), seen: new Set(), findingsStated: name === 'impression' ? findingsStated : null };
    for (const image of images) {
      const text = image.text[name];
      if (image.text.complete === false) {
        if (text.trim().length > 0) edits.push({ section: name, rule: 'incomplete-text', original: text.trim(), replacement: null, detail: 'decoding stopped at its length limit without a stop token' });
        continue;
      }
      const own = findings.filter((f) => f.instanceKey === image.instanceKey);
      const kept: string[] = [];
      for (const { text: sentence } of splitSentences(text)) {
        const result = checkSentence(sentence, name, image, own, positiveCodes, strongest, context, state);
        if (result.edit) edits.push({ section: name, ...result.edit });
        if (result.text === null) continue;
        kept.push(result.text);
        record(state, result.text, result.meaning.asserts);
      }
      if (kept.length > 0) state.paragraphs.push(kept);
    }
    const added: string[] = [];
    for (const finding of strongest.values()) {
      if (state.stated.has(normaliseCode(finding.code))) continue;
      const located = placedAsStated(finding, state.findingsStated);
      const sentence = findingSentence(located);
      added.push(sentence);
      record(state, sentence, [statedOf(located)]);
      edits.push({ section: name, rule: 'missing-positive', original: null, replacement: sentence });
    }
    if (added.length > 0) state.paragraphs.push(added);
    const joined = state.paragraphs.map((p) => p.join(' ')).join('\n');
    if (name === 'findings') {
      findingsStated = state.stated;
      return joined || NO_FINDINGS_TEXT;
    }
    if (positiveCodes.size > 0) return joined;
    // Nothing positive: the impression must say the study is normal, and nothing else.
    const saysNormal = state.paragraphs.flat().some((s) => readSentence(s, 'impression', context).meaning.normal);
    if (saysNormal) return joined;
    if (joined) edits.push({ section: name, rule: 'normal-impression', original: joined, replacement: NORMAL_STUDY_IMPRESSION, detail: 'no finding is positive: the impression says the study is normal' });
    return NORMAL_STUDY_IMPRESSION;
  };

  const findingsText = section('findings');
  const impressionText = section('impression');
  return { sections: { findings: findingsText, impression: impressionText }, edits };
}

interface SentenceOutcome {
  text: string | null;
  meaning: SentenceMeaning;
  edit?: Omit<TextEdit, 'section'>;
}

function checkSentence(
  sentence: string,
  section: SectionName,
  image: DraftTextImage,
  own: readonly DraftTextFinding[],
  positiveCodes: ReadonlySet<string>,
  strongest: ReadonlyMap<string, DraftTextFinding>,
  context: ReadingContext,
  state: SectionState,
): SentenceOutcome {
  const reading = readSentence(sentence, section, context);
  const drop = (rule: TextEdit['rule'], detail: string): SentenceOutcome => ({ text: null, meaning: reading.meaning, edit: { rule, original: sentence, replacement: null, detail } });
  const positiveHere = (code: string): DraftTextFinding | undefined =>
    own.filter((f) => f.positive && normaliseCode(f.code) === code).sort((a, b) => b.probability - a.probability)[0];

  if (!reading.wellFormed) {
    // The finding it was about, if the classifier agrees and the section has not said it yet.
    const about = reading.meaning.asserts.map((a) => positiveHere(a.code)).find((f) => f !== undefined && !state.stated.has(normaliseCode(f.code)));
    if (!about) return drop('malformed', reading.defect);
    return templated(sentence, 'malformed', reading.defect, strongest.get(normaliseCode(about.code)) ?? about, state);
  }
  const { meaning } = reading;
  const unsupported = meaning.asserts.find((a) => !positiveHere(a.code));
  if (unsupported) return drop('asserts-negative', `the classifier does not call ${displayOf(unsupported.code, context)} positive on this image`);
  const contradicted = meaning.negates.find((code) => (code === NEGATES_EVERYTHING ? positiveCodes.size > 0 : positiveCodes.has(code)));
  if (contradicted) {
    const what = contradicted === NEGATES_EVERYTHING ? 'a finding' : displayOf(contradicted, context);
    return drop('negates-positive', `the classifier calls ${what} positive`);
  }
  if (state.seen.has(normalised(sentence))) return drop('repeated', 'the same sentence is already in the section');
  const restated = meaning.asserts.find((a) => {
    const earlier = state.stated.get(a.code);
    if (!earlier) return false;
    const bilateral = positiveHere(a.code)?.side === 'bilateral';
    return !(bilateral && (a.side === 'right' || a.side === 'left') && !earlier.some((e) => e.side === a.side));
  });
  if (restated) return drop('restated-finding', `${displayOf(restated.code, context)} is already stated`);
  const disagreeing = state.findingsStated ? meaning.asserts.find((a) => placeDisagrees(a, state.findingsStated!.get(a.code))) : undefined;
  if (disagreeing) return drop('disagrees-with-findings', `the findings place ${displayOf(disagreeing.code, context)} elsewhere`);

  let text = sentence;
  let edit: SentenceOutcome['edit'];
  if (meaning.size) {
    const finding = positiveHere(meaning.size.code);
    const measured = meaning.size.kind === 'mm' && finding ? measuredSizeMm(finding.code, finding.region, image) : null;
    if (measured === null || measured !== meaning.size.value) {
      if (!meaning.rewrite) {
        const what = displayOf(meaning.size.code, context);
        const f = strongest.get(meaning.size.code);
        if (!f) return drop('unmeasured-size', `the size of ${what} was not measured`);
        return templated(sentence, 'unmeasured-size', `the size of ${what} was not measured`, f, state);
      }
      text = meaning.rewrite(measured);
      edit = measured === null
        ? { rule: 'unmeasured-size', original: sentence, replacement: text, detail: `the ${meaning.size.kind === 'ratio' ? 'ratio' : 'size'} was not measured on the image` }
        : { rule: 'measured-size', original: sentence, replacement: text, detail: `measured on the image: ${measured} mm` };
    }
  }
  if (state.seen.has(normalised(text))) return drop('repeated', 'the same sentence is already in the section');
  return edit ? { text, meaning, edit } : { text, meaning };
}

function templated(original: string, rule: TextEdit['rule'], detail: string, finding: DraftTextFinding, state: SectionState): SentenceOutcome {
  const located = placedAsStated(finding, state.findingsStated);
  const text = findingSentence(located);
  if (state.seen.has(normalised(text))) return { text: null, meaning: { asserts: [], negates: [], normal: false, size: null }, edit: { rule, original, replacement: null, detail } };
  return {
    text,
    meaning: { asserts: [statedOf(located)], negates: [], normal: false, size: null },
    edit: { rule, original, replacement: text, detail },
  };
}

function record(state: SectionState, text: string, asserts: readonly StatedFinding[]): void {
  state.seen.add(normalised(text));
  for (const stated of asserts) state.stated.set(stated.code, [...(state.stated.get(stated.code) ?? []), stated]);
}

const statedOf = (f: DraftTextFinding): StatedFinding => ({ code: normaliseCode(f.code), side: f.side, zone: f.zone });

/**
 * The finding placed where the findings section first places it (side and zone), so a templated
 * impression sentence summarises the findings rather than contradicting them; else where its
 * heatmap is.
 */
function placedAsStated(finding: DraftTextFinding, findingsStated: SectionState['findingsStated']): DraftTextFinding {
  const first = findingsStated?.get(normaliseCode(finding.code))?.find((s) => s.side !== null || s.zone !== null);
  return first ? { ...finding, side: first.side, zone: first.zone } : finding;
}

function displayOf(code: string, context: ReadingContext): string {
  const f = context.findings.find((x) => normaliseCode(x.code) === code);
  return f ? f.display.toLowerCase() : code.replace(/_/g, ' ');
}

/** Positive findings, one per normalised code (the most probable), in the order the codes first appear. */
function strongestPositivePerCode(findings: readonly DraftTextFinding[]): Map<string, DraftTextFinding> {
  const best = new Map<string, DraftTextFinding>();
  for (const finding of findings) {
    if (!finding.positive) continue;
    const code = normaliseCode(finding.code);
    const current = best.get(code);
    if (!current || finding.probability > current.probability) best.set(code, finding);
  }
  return best;
}
