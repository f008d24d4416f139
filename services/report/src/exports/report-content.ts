import type { ReportFinding, ReportResponse } from '@cxr/contracts';

/** What every export reads the same way from a report: whether there is one, and what it says about a finding. */

/** Report statuses that have something to export (a draft or a signed report). */
export function isExportable(report: ReportResponse): boolean {
  return report.status === 'draft' || report.status === 'signed';
}

/** A report with no draft (pending, failed, not eligible): nothing to export yet, or ever. */
export class NothingToExportError extends Error {
  readonly permanent = true;
  constructor(status: string) {
    super(`a report in status ${status} has no draft or signed text to export`);
    this.name = 'NothingToExportError';
  }
}

/** Whether the finding is present in the report: the model's call, reversed by a rejection. */
export function isPresentInReport(finding: ReportFinding): boolean {
  return finding.decision === 'rejected' ? !finding.positive : finding.positive;
}

/** Where the finding is, in words ("right lower lung zone"), or null when the model did not say. */
export function findingSiteText(finding: ReportFinding): string | null {
  if (!finding.side && !finding.zone) return null;
  const noun = finding.side === 'midline' ? null : finding.zone ? 'lung zone' : 'lung';
  return [finding.side, finding.zone, noun].filter(Boolean).join(' ');
}

/**
 * What exports say about images the AI model refused as outside its scope (no AI finding comes from
 * them), e.g. "AI not applied to 1 image: The AI model was not built for this image: ..."; null when
 * the model read every image.
 */
export function outOfScopeStatement(report: ReportResponse): string | null {
  const refused = report.outOfScopeImages;
  if (refused.length === 0) return null;
  return `AI not applied to ${refused.length} image${refused.length === 1 ? '' : 's'} (no AI findings from ${refused.length === 1 ? 'it' : 'them'}): ${refused.map((i) => `${i.sopInstanceUid}: ${i.reason}`).join('; ')}`;
}
