import type { TextEdit } from '@cxr/contracts';
import { extractMentions, isFindingCode, type FindingCode } from '@cxr/report-text';
import type { DraftTextFinding } from './draft-text.ts';
import { normaliseCode } from './finding-geometry.ts';
import { BORDERLINE_CALL, readSentence, type ReadingContext, type SentenceWording } from './sentence-grammar.ts';
import { splitSentences } from './sentences.ts';

/**
 * The clinical question of a study and the impression's answer to it.
 *
 * The question is read with @cxr/report-text, the same rule-based reader as for radiologists'
 * reports, on the indication as an INDICATION section: every finding it mentions, whatever the cue
 * ("? pneumothorax", "r/o effusion", "query PTX", "follow-up nodule", "known left effusion"), is a
 * finding asked about. A finding the model does not report on ("?pneumonia" for a model without a
 * consolidation output) is asked but not answered: nothing is invented for it.
 *
 * The answer goes first in the impression, one per finding asked, in the order asked:
 * - the classifier calls it positive on some image: the impression's sentence stating it is moved
 *   to the front (the consistency checks have already made sure there is one); a low-confidence
 *   positive is followed by "The AI call on pneumothorax is borderline (low confidence).";
 * - negative on every image, at moderate or high confidence: "No pneumothorax." (or the impression's
 *   own sentence negating it, moved to the front);
 * - negative at low confidence (just under the threshold): "Pneumothorax is not excluded: the AI
 *   call is borderline (low confidence)." — neither a yes nor a no.
 * Every sentence added is a drafting sentence form (sentence-grammar.ts): the answers assert
 * nothing and negate only what the classifier calls negative, so the draft keeps agreeing with its
 * findings (checkReportText with `answers` counts nothing new). Each change is returned as an `answers-question` edit.
 */

export interface QuestionTopic {
  /** @cxr/report-text finding code (the reference model's codes and a few common others). */
  code: FindingCode;
  /** The words of the question that asked it. */
  text: string;
}

export interface ClinicalQuestion {
  indication: string;
  /** Findings the indication asks about, once each, in the order asked. */
  topics: QuestionTopic[];
}

export function readClinicalQuestion(indication: string): ClinicalQuestion {
  const topics: QuestionTopic[] = [];
  for (const mention of extractMentions(indication, 'indication')) {
    if (!isFindingCode(mention.code) || topics.some((t) => t.code === mention.code)) continue;
    topics.push({ code: mention.code, text: mention.text });
  }
  return { indication, topics };
}

export interface QuestionAnswer {
  impression: string;
  edits: TextEdit[];
  /** Normalised codes answered; the rest of the topics the model has no finding for. */
  answered: string[];
}

export function answerClinicalQuestion(
  impression: string,
  question: ClinicalQuestion,
  findings: readonly DraftTextFinding[],
  wording: SentenceWording | null,
): QuestionAnswer {
  const context: ReadingContext = { wording, findings, answers: true };
  const paragraphs = impression.split('\n').map((line) => splitSentences(line).map((s) => s.text));
  const front: string[] = [];
  const edits: TextEdit[] = [];
  const answered: string[] = [];
  /** Takes the first impression sentence that matches out of its paragraph. */
  const take = (matches: (sentence: string) => boolean): string | undefined => {
    for (const paragraph of paragraphs) {
      const i = paragraph.findIndex(matches);
      if (i >= 0) return paragraph.splice(i, 1)[0];
    }
    return undefined;
  };
  const add = (sentence: string, detail: string): void => {
    front.push(sentence);
    edits.push({ section: 'impression', rule: 'answers-question', original: null, replacement: sentence, detail });
  };

  for (const topic of question.topics) {
    const code = normaliseCode(topic.code);
    const own = findings.filter((f) => normaliseCode(f.code) === code);
    if (own.length === 0) continue;
    answered.push(code);
    const display = own[0]!.display;
    const asked = `the indication asks about ${display.toLowerCase()} ("${topic.text}")`;
    const positive = own.filter((f) => f.positive).sort((a, b) => b.probability - a.probability)[0];
    if (positive) {
      const stated = take((s) => readSentence(s, 'impression', context).meaning.asserts.some((a) => a.code === code));
      if (stated !== undefined) {
        front.push(stated);
        edits.push({ section: 'impression', rule: 'answers-question', original: stated, replacement: stated, detail: `stated first: ${asked}` });
      }
      if (positive.confidence === 'low') add(`The AI call on ${display.toLowerCase()} is borderline (low confidence).`, asked);
      continue;
    }
    // Negative on every image: how sure is the call closest to its threshold.
    const closest = [...own].sort((a, b) => b.probability - a.probability)[0]!;
    if (closest.confidence === 'low') {
      add(`${capitalised(display)} is not excluded: ${BORDERLINE_CALL}.`, asked);
      continue;
    }
    const negating = take((s) => readSentence(s, 'impression', context).meaning.negates.includes(code));
    if (negating !== undefined) {
      front.push(negating);
      edits.push({ section: 'impression', rule: 'answers-question', original: negating, replacement: negating, detail: `stated first: ${asked}` });
    } else {
      add(`No ${display.toLowerCase()}.`, asked);
    }
  }
  if (front.length === 0) return { impression, edits: [], answered };
  const rest = paragraphs.filter((p) => p.length > 0).map((p) => p.join(' '));
  return { impression: [front.join(' '), ...rest].join('\n'), edits, answered };
}

const capitalised = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);
