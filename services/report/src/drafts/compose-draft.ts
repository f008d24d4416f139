import { AI_DRAFT_DISCLAIMER, imageInScope, objectKeys, outOfScopeSentence, type AnalysisResult } from '@cxr/contracts';
import { confidenceBand } from './confidence.ts';
import { NO_GEOMETRY, normaliseCode, type FindingGeometry } from './finding-geometry.ts';
import { assertedCodes, findMentions, termPatterns } from './finding-mentions.ts';
import type { DraftFinding, ReportDraft } from './report-draft.ts';
import { splitSentences } from './sentences.ts';

/**
 * Turns the worker's analysis result into an AI draft report. Pure: no storage, no clock.
 *
 * The draft is written in pseudonymous terms (instance keys, not SOP Instance UIDs): it can be
 * composed before the study's `study-received` event has been processed, and the identifiers
 * are joined in when the report is served (see routes/report-view.ts).
 *
 * Text rule: the decoder's text is kept as it is (a paragraph repeated for a second view once);
 * the classifier's positive/negative calls decide what is added to it, and nothing negative is
 * ever made up:
 * - No positive finding: the impression is NORMAL_STUDY_IMPRESSION, unless the decoder's
 *   impression already says the study is normal (and asserts no finding), in which case it stays.
 * - Positive findings: each one the decoder's findings text does not assert (negated mentions do
 *   not count) gets a sentence of its own, appended as a paragraph to the findings section:
 *   display name, side and zone where known, confidence band, e.g.
 *   "Pneumothorax in the right upper zone (high confidence)." Several images with the same
 *   finding give one sentence, from the most probable. The impression is left to the decoder.
 */
export interface DraftContext {
  /** When the draft is composed (ISO 8601); passed in to keep the function pure. */
  composedAt: string;
  /** Side, zone and region read from each finding's heatmap; left out, they are null. */
  geometryOf?: (instanceKey: string, code: string) => FindingGeometry | undefined;
}

export const NO_FINDINGS_TEXT = 'No findings text was generated.';
export const NO_IMPRESSION_TEXT = 'No impression was generated.';
export const NORMAL_STUDY_IMPRESSION = 'No acute cardiopulmonary abnormality detected by the AI model.';

const NORMAL_STATEMENT =
  /\bno\s+(?:(?:acute|significant|active|focal)\s+)*(?:cardiopulmonary\s+|radiographic\s+|intrathoracic\s+)?(?:abnormalit(?:y|ies)|disease|process|findings?)\b|\bnormal\s+(?:chest\s+)?(?:study|radiograph|examination|x-ray)\b|\bunremarkable\b/i;

export function composeDraft(result: AnalysisResult, context: DraftContext): ReportDraft {
  const findings: DraftFinding[] = result.images.flatMap((image) =>
    image.findings.map((finding) => {
      const geometry = context.geometryOf?.(image.instanceKey, finding.code) ?? NO_GEOMETRY;
      return {
        instanceKey: image.instanceKey,
        code: finding.code,
        display: finding.display,
        coding: finding.coding ? { ...finding.coding } : null,
        probability: finding.probability,
        threshold: finding.threshold,
        positive: finding.positive,
        peak: { x: finding.peak.x, y: finding.peak.y },
        ...(finding.heatmapKey !== undefined ? { heatmapKey: finding.heatmapKey } : {}),
        overlayKey: objectKeys.overlay(result.studyKey, result.version, image.instanceKey, finding.code),
        confidence: confidenceBand(finding.probability, finding.threshold),
        side: geometry.side,
        zone: geometry.zone,
        region: geometry.region ? { ...geometry.region } : null,
      };
    }),
  );
  // Images the model refused as outside its scope carry no findings and no text; they are listed.
  const outOfScope = result.images.flatMap((image) =>
    image.scope && !image.scope.inScope
      ? [{ instanceKey: image.instanceKey, check: image.scope.check, reason: outOfScopeSentence(image.scope), score: image.scope.score, limit: image.scope.limit }]
      : [],
  );
  const read = result.images.filter(imageInScope);
  const decoderFindings = joinSection(read.map((image) => image.text.findings));
  const decoderImpression = joinSection(read.map((image) => image.text.impression));
  const sections =
    read.length === 0
      ? { findings: '', impression: '' }
      : { findings: findingsSection(decoderFindings, findings), impression: impressionSection(decoderImpression, findings) };
  return {
    studyKey: result.studyKey,
    version: result.version,
    analysisId: result.analysisId,
    model: { ...result.model },
    sections,
    text: formatReportText(sections),
    findings,
    outOfScope,
    composedAt: context.composedAt,
  };
}

/** The plain-text report: first line says it is an AI draft, then the two sections. */
export function formatReportText(sections: { findings: string; impression: string }): string {
  return `${AI_DRAFT_DISCLAIMER}\n\nFINDINGS:\n${sections.findings}\n\nIMPRESSION:\n${sections.impression}`;
}

/** A sentence for one positive finding, e.g. "Lung nodule in the right upper zone (high confidence)." */
export function findingSentence(finding: Pick<DraftFinding, 'display' | 'side' | 'zone' | 'confidence'>): string {
  const name = finding.display.charAt(0).toUpperCase() + finding.display.slice(1);
  let where = '';
  if (finding.side === 'right' || finding.side === 'left') {
    where = finding.zone ? ` in the ${finding.side} ${finding.zone} zone` : ` on the ${finding.side}`;
  } else if (finding.side === 'bilateral') {
    where = finding.zone ? `, bilateral, ${finding.zone} zones` : ', bilateral';
  }
  return `${name}${where} (${finding.confidence} confidence).`;
}

function findingsSection(decoderText: string, findings: DraftFinding[]): string {
  const asserted = assertedIn(decoderText, findings);
  const added = strongestPositivePerCode(findings)
    .filter((f) => !asserted.has(normaliseCode(f.code)))
    .map(findingSentence);
  const paragraphs = [decoderText, added.join(' ')].filter((p) => p.length > 0);
  return paragraphs.join('\n') || NO_FINDINGS_TEXT;
}

function impressionSection(decoderText: string, findings: DraftFinding[]): string {
  if (findings.some((f) => f.positive)) return decoderText || NO_IMPRESSION_TEXT;
  const saysNormal = NORMAL_STATEMENT.test(decoderText) && assertedIn(decoderText, findings).size === 0;
  return saysNormal ? decoderText : NORMAL_STUDY_IMPRESSION;
}

function assertedIn(text: string, findings: DraftFinding[]): Set<string> {
  const patterns = termPatterns(findings);
  return assertedCodes(splitSentences(text).map((s) => findMentions(s.text, patterns)));
}

/** Positive findings, one per code (the most probable), in the order the codes first appear. */
function strongestPositivePerCode(findings: DraftFinding[]): DraftFinding[] {
  const best = new Map<string, DraftFinding>();
  for (const finding of findings) {
    if (!finding.positive) continue;
    const code = normaliseCode(finding.code);
    const current = best.get(code);
    if (!current || finding.probability > current.probability) best.set(code, finding);
  }
  return [...best.values()];
}

/**
 * A study with a frontal and a lateral view gets one text per image; the model often says the
 * same thing for both, so identical paragraphs are kept once, in image order.
 */
function joinSection(paragraphs: string[]): string {
  const seen = new Set<string>();
  const kept: string[] = [];
  for (const paragraph of paragraphs) {
    const trimmed = paragraph.trim();
    if (trimmed.length === 0 || seen.has(trimmed)) continue;
    seen.add(trimmed);
    kept.push(trimmed);
  }
  return kept.join('\n');
}
