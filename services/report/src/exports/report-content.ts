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
