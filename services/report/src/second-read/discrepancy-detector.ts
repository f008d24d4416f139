import type { ConfidenceBand, DiscrepancyKind, ReportFindingStatus, SecondReadAgreement, Side } from '@cxr/contracts';
import { findingStatus, isFindingCode, MODEL_FINDING_CODES, mentionsOf, type ModelFindingCode, type ParsedReport } from '@cxr/report-text';

/**
 * The comparison at the heart of the second read, per model finding of the study:
 *
 * | AI call                                 | final report says            | result                         |
 * |-----------------------------------------|------------------------------|--------------------------------|
 * | positive, high confidence               | present                      | agree (side-disagrees when the sides are opposite) |
 * | positive, high confidence               | absent (or a normal study)   | ai-positive-report-absent      |
 * | positive, high confidence               | not mentioned                | ai-positive-report-silent      |
 * | negative, high confidence               | present                      | report-positive-ai-negative    |
 * | negative, high confidence               | absent / not mentioned       | agree                          |
 * | any                                     | uncertain ("cannot exclude") | indeterminate                  |
 * | positive or negative, moderate or low   | the same call                | agree; otherwise indeterminate |
 *
 * "High confidence" is the drafts' own band (libs/drafting confidence.ts: at least 2 log-odds from
 * the finding's threshold), so the worklist flags only calls the draft itself states firmly. A
 * study-level normal statement ("No acute cardiopulmonary abnormality") counts as denying every
 * finding it does not mention. The AI call of a finding over a study's images is its most
 * probable image's (positive when any image is positive).
 */

export interface AiFinding {
  code: string;
  display: string;
  probability: number;
  threshold: number;
  positive: boolean;
  confidence: ConfidenceBand;
  side: Side | null;
  sopInstanceUid: string;
}

export interface FindingComparison {
  /** The model's code as the AI result spells it. */
  code: string;
  display: string;
  reportStatus: ReportFindingStatus;
  agreement: SecondReadAgreement;
  /** Set when `agreement` is 'discrepancy'. */
  kind?: DiscrepancyKind;
  /** The report's sentence about the finding (or its normal statement), when it has one. */
  reportSentence: string | null;
  /** The image whose call was compared (evidence). */
  evidence: AiFinding;
}

/** The report-text code of an AI finding code ('pleural-effusion' and 'pleural_effusion' alike), or null when the extractor does not read it. */
export function modelCodeOf(code: string): ModelFindingCode | null {
  const normalised = code.toLowerCase().replace(/-/g, '_');
  return isFindingCode(normalised) && (MODEL_FINDING_CODES as readonly string[]).includes(normalised) ? (normalised as ModelFindingCode) : null;
}

export function compareWithReport(aiFindings: readonly AiFinding[], report: ParsedReport): FindingComparison[] {
  const byCode = new Map<string, AiFinding[]>();
  for (const finding of aiFindings) {
    if (!modelCodeOf(finding.code)) continue;
    byCode.set(finding.code, [...(byCode.get(finding.code) ?? []), finding]);
  }
  const normalSentence = report.normal ? (report.mentions.find((m) => m.code === 'normal')?.sentence ?? null) : null;
  const comparisons: FindingComparison[] = [];
  for (const [code, findings] of [...byCode.entries()].sort(([a], [b]) => a.localeCompare(b))) {
    const textCode = modelCodeOf(code)!;
    const evidence = callOf(findings);
    const mentions = mentionsOf(report, textCode);
    let status = findingStatus(report, textCode) as ReportFindingStatus;
    const sentenceOf = (wanted: ReportFindingStatus) => mentions.find((m) => m.status === wanted)?.sentence ?? null;
    let reportSentence = status === 'not_mentioned' ? null : sentenceOf(status);
    const impliedAbsent = status === 'not_mentioned' && normalSentence !== null;
    if (impliedAbsent) {
      status = 'absent';
      reportSentence = normalSentence;
    }
    const confident = evidence.confidence === 'high';
    let agreement: SecondReadAgreement;
    let kind: DiscrepancyKind | undefined;
    if (status === 'uncertain') agreement = 'indeterminate';
    else if (evidence.positive && confident && status === 'absent') [agreement, kind] = ['discrepancy', 'ai-positive-report-absent'];
    else if (evidence.positive && confident && status === 'not_mentioned') [agreement, kind] = ['discrepancy', 'ai-positive-report-silent'];
    else if (!evidence.positive && confident && status === 'present') [agreement, kind] = ['discrepancy', 'report-positive-ai-negative'];
    else if (evidence.positive && confident && status === 'present' && sidesOpposite(evidence.side, mentions.filter((m) => m.status === 'present').map((m) => m.laterality))) {
      [agreement, kind] = ['discrepancy', 'side-disagrees'];
    } else if (evidence.positive === (status === 'present')) agreement = 'agree';
    else agreement = 'indeterminate';
    comparisons.push({ code, display: evidence.display, reportStatus: status, agreement, ...(kind ? { kind } : {}), reportSentence, evidence });
  }
  return comparisons;
}

/** The call over a study's images: the most probable positive image if any is positive, else the most probable image. */
function callOf(findings: readonly AiFinding[]): AiFinding {
  const positives = findings.filter((f) => f.positive);
  const pool = positives.length > 0 ? positives : findings;
  return pool.reduce((best, f) => (f.probability > best.probability ? f : best));
}

/** The AI places it on one side and every present mention that names a side names only the other. */
function sidesOpposite(aiSide: Side | null, reportSides: ReadonlyArray<string | undefined>): boolean {
  if (aiSide !== 'right' && aiSide !== 'left') return false;
  const named = reportSides.filter((s): s is string => s !== undefined);
  if (named.length === 0) return false;
  const other = aiSide === 'right' ? 'left' : 'right';
  return named.every((s) => s === other);
}
