import { AI_DRAFT_DISCLAIMER, objectKeys, type AnalysisResult } from '@cxr/contracts';
import type { ReportDraft } from './report-draft.ts';

/**
 * Turns the worker's analysis result into an AI draft report. Pure: no storage, no clock.
 *
 * The draft is written in pseudonymous terms (instance keys, not SOP Instance UIDs): it can be
 * composed before the study's `study-received` event has been processed, and the identifiers
 * are joined in when the report is served (see routes/report-view.ts).
 */
export interface DraftContext {
  /** When the draft is composed (ISO 8601); passed in to keep the function pure. */
  composedAt: string;
}

export const NO_FINDINGS_TEXT = 'No findings text was generated.';
export const NO_IMPRESSION_TEXT = 'No impression was generated.';

export function composeDraft(result: AnalysisResult, context: DraftContext): ReportDraft {
  const findingsText = joinSection(result.images.map((image) => image.text.findings)) || NO_FINDINGS_TEXT;
  const impressionText = joinSection(result.images.map((image) => image.text.impression)) || NO_IMPRESSION_TEXT;
  return {
    studyKey: result.studyKey,
    version: result.version,
    analysisId: result.analysisId,
    model: { ...result.model },
    sections: { findings: findingsText, impression: impressionText },
    text: formatReportText({ findings: findingsText, impression: impressionText }),
    findings: result.images.flatMap((image) =>
      image.findings.map((finding) => ({
        instanceKey: image.instanceKey,
        code: finding.code,
        display: finding.display,
        coding: finding.coding ? { ...finding.coding } : null,
        probability: finding.probability,
        threshold: finding.threshold,
        positive: finding.positive,
        peak: { x: finding.peak.x, y: finding.peak.y },
        heatmapKey: finding.heatmapKey,
        overlayKey: objectKeys.overlay(result.studyKey, result.version, image.instanceKey, finding.code),
      })),
    ),
    composedAt: context.composedAt,
  };
}

/** The plain-text report: first line says it is an AI draft, then the two sections. */
export function formatReportText(sections: { findings: string; impression: string }): string {
  return `${AI_DRAFT_DISCLAIMER}\n\nFINDINGS:\n${sections.findings}\n\nIMPRESSION:\n${sections.impression}`;
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
