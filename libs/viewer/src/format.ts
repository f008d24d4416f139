import type { ConfidenceBand, ReportFinding, ReportStatus, StudyPriority } from '@cxr/contracts';

/** Words and numbers as the viewer shows them. */

export function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}

export const CONFIDENCE_LABELS: Record<ConfidenceBand, string> = {
  high: 'High confidence',
  moderate: 'Moderate confidence',
  low: 'Low confidence',
};

/** "right upper zone", "left", "bilateral lower zones", or null when the model gave no location. */
export function locationOf(finding: Pick<ReportFinding, 'side' | 'zone'>): string | null {
  if (!finding.side && !finding.zone) return null;
  const zone = finding.zone ? `${finding.zone} zone${finding.side === 'bilateral' ? 's' : ''}` : null;
  return [finding.side, zone].filter(Boolean).join(' ');
}

/** "82% vs threshold 50%": the probability relative to the operating threshold the model was tuned at. */
export function probabilityVsThreshold(finding: Pick<ReportFinding, 'probability' | 'threshold'>): string {
  return `${percent(finding.probability)} vs threshold ${percent(finding.threshold)}`;
}

export const STATUS_LABELS: Record<ReportStatus, string> = {
  pending: 'Awaiting AI draft',
  draft: 'AI draft, unsigned',
  signed: 'Signed',
  failed: 'Analysis failed',
  'not-eligible': 'Not eligible for AI analysis',
  'out-of-scope': 'Outside the AI model\'s scope',
};

export const PRIORITY_LABELS: Record<StudyPriority, string> = { stat: 'STAT', urgent: 'Urgent', routine: 'Routine' };

/** A timestamp in the reader's locale, with the ISO form kept for machines (the `<time dateTime>`). */
export function formatDateTime(iso: string, locale?: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' });
}
