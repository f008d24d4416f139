import { AI_DRAFT_DISCLAIMER, imageInScope, objectKeys, outOfScopeSentence, type AnalysisResult } from '@cxr/contracts';
import { answerClinicalQuestion, composeDraftText, confidenceBand, NO_GEOMETRY, readClinicalQuestion, wordingFor, type FindingGeometry } from '@cxr/drafting';
import type { DraftFinding, ReportDraft } from './report-draft.ts';

export { findingSentence, NO_FINDINGS_TEXT, NO_IMPRESSION_TEXT, NORMAL_STUDY_IMPRESSION } from '@cxr/drafting';

/**
 * Turns the worker's analysis result into an AI draft report. Pure: no storage, no clock.
 *
 * The draft is written in pseudonymous terms (instance keys, not SOP Instance UIDs): it can be
 * composed before the study's `study-received` event has been processed, and the identifiers
 * are joined in when the report is served (see routes/report-view.ts).
 *
 * Text: the decoder's text goes through the consistency checks of @cxr/drafting
 * (composeDraftText), which keep it in line with the classifier's positive/negative calls by
 * construction: no sentence states a finding the classifier calls negative or negates one it
 * calls positive, no sentence is repeated or malformed, a size is stated only when measured on
 * the image, and every positive finding is stated in findings and impression (a templated
 * sentence where the model's text leaves it out, e.g. "Pneumothorax in the right upper zone (high
 * confidence)."). What the checks changed is kept in the draft as `textEdits`. The sentence
 * forms are those of the model that wrote the text (wordingFor its id).
 *
 * Clinical question: the result's `indication` (the order's reason, de-identified by ingest)
 * becomes `sections.indication`, and the impression answers what it asks (@cxr/drafting
 * answerClinicalQuestion: "No pneumothorax.", the positive finding first, or that the call is
 * borderline), recorded as `answers-question` edits. Nothing is answered when no image was read.
 */
export interface DraftContext {
  /** When the draft is composed (ISO 8601); passed in to keep the function pure. */
  composedAt: string;
  /** Side, zone and region read from each finding's heatmap; left out, they are null. */
  geometryOf?: (instanceKey: string, code: string) => FindingGeometry | undefined;
  /**
   * The COMPARISON section from this draft's findings (comparison-section.ts, with the priors'
   * reports); left out when ingest did not look for priors: the draft then has no such section.
   */
  comparison?: (findings: readonly DraftFinding[]) => string;
}

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
  const composed =
    read.length === 0
      ? { sections: { findings: '', impression: '' }, edits: [] }
      : composeDraftText(
          read.map((image) => ({
            instanceKey: image.instanceKey,
            width: image.width,
            height: image.height,
            pixelSpacingMm: image.pixelSpacingMm,
            text: image.text,
          })),
          findings,
          wordingFor(result.model.id),
        );
  const answer =
    result.indication !== undefined && read.length > 0
      ? answerClinicalQuestion(composed.sections.impression, readClinicalQuestion(result.indication), findings, wordingFor(result.model.id))
      : null;
  const sections = {
    ...(result.indication !== undefined ? { indication: result.indication } : {}),
    findings: composed.sections.findings,
    impression: answer ? answer.impression : composed.sections.impression,
  };
  const edits = [...composed.edits, ...(answer?.edits ?? [])];
  const comparison = context.comparison?.(findings);
  const withComparison = comparison !== undefined ? { ...sections, comparison } : sections;
  return {
    studyKey: result.studyKey,
    version: result.version,
    analysisId: result.analysisId,
    model: { ...result.model },
    sections: withComparison,
    text: formatReportText(withComparison),
    findings,
    outOfScope,
    textEdits: edits,
    composedAt: context.composedAt,
  };
}

/** The plain-text report: first line says it is an AI draft, then INDICATION and COMPARISON (when there are), FINDINGS and IMPRESSION. */
export function formatReportText(sections: { findings: string; impression: string; indication?: string | undefined; comparison?: string | undefined }): string {
  const indication = sections.indication !== undefined ? `INDICATION:\n${sections.indication}\n\n` : '';
  const comparison = sections.comparison !== undefined ? `COMPARISON:\n${sections.comparison}\n\n` : '';
  return `${AI_DRAFT_DISCLAIMER}\n\n${indication}${comparison}FINDINGS:\n${sections.findings}\n\nIMPRESSION:\n${sections.impression}`;
}
