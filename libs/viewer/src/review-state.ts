import type { FindingDecision, ReportEditRequest, ReportFinding, ReportResponse, Region } from '@cxr/contracts';

/**
 * What the person reviewing a report has changed locally (text, decisions) and how they look at
 * it (overlay visibility and opacity, the highlighted region), as one reducer so the standalone
 * page and the OHIF panel behave the same. The server's report stays the source of truth: a
 * newly loaded revision replaces the text and decisions, but keeps the overlay settings.
 */

/** A finding is identified by its code and the image it was found on (a study may have several images). */
export function findingKey(finding: Pick<ReportFinding, 'code' | 'sopInstanceUid'>): string {
  return `${finding.code}@${finding.sopInstanceUid}`;
}

export interface OverlaySetting {
  visible: boolean;
  /** 0..1 */
  opacity: number;
}

export interface Highlight {
  findingKey: string;
  region: Region | null;
}

export interface ReviewState {
  report: ReportResponse;
  /** `comparison` only when the report has a COMPARISON section. */
  sections: { findings: string; impression: string; comparison?: string };
  decisions: Record<string, FindingDecision | null>;
  overlays: Record<string, OverlaySetting>;
  highlight: Highlight | null;
  /** Local changes not yet saved. */
  dirty: boolean;
}

export type ReviewAction =
  | { type: 'loaded'; report: ReportResponse }
  | { type: 'edit-section'; section: 'findings' | 'impression' | 'comparison'; text: string }
  | { type: 'decide'; key: string; decision: FindingDecision | null }
  | { type: 'toggle-overlay'; key: string; visible: boolean }
  | { type: 'set-opacity'; key: string; opacity: number }
  | { type: 'highlight'; highlight: Highlight | null };

export const DEFAULT_OVERLAY_OPACITY = 0.7;

function defaultOverlays(report: ReportResponse, previous: Record<string, OverlaySetting> = {}): Record<string, OverlaySetting> {
  const overlays: Record<string, OverlaySetting> = {};
  for (const finding of report.findings) {
    const key = findingKey(finding);
    // Positive findings start with their overlay shown; negatives are there to look at on demand.
    overlays[key] = previous[key] ?? { visible: finding.positive, opacity: DEFAULT_OVERLAY_OPACITY };
  }
  return overlays;
}

function decisionsOf(report: ReportResponse): Record<string, FindingDecision | null> {
  return Object.fromEntries(report.findings.map((f) => [findingKey(f), f.decision]));
}

export function initialReviewState(report: ReportResponse): ReviewState {
  return { report, sections: { ...report.sections }, decisions: decisionsOf(report), overlays: defaultOverlays(report), highlight: null, dirty: false };
}

export function reviewReducer(state: ReviewState, action: ReviewAction): ReviewState {
  switch (action.type) {
    case 'loaded':
      return { ...initialReviewState(action.report), overlays: defaultOverlays(action.report, state.overlays), highlight: state.highlight };
    case 'edit-section':
      if (state.report.signed) return state;
      return { ...state, sections: { ...state.sections, [action.section]: action.text }, dirty: true };
    case 'decide':
      if (state.report.signed || !(action.key in state.decisions)) return state;
      return { ...state, decisions: { ...state.decisions, [action.key]: action.decision }, dirty: true };
    case 'toggle-overlay': {
      const current = state.overlays[action.key];
      if (!current) return state;
      return { ...state, overlays: { ...state.overlays, [action.key]: { ...current, visible: action.visible } } };
    }
    case 'set-opacity': {
      const current = state.overlays[action.key];
      if (!current || !Number.isFinite(action.opacity)) return state;
      const opacity = Math.min(1, Math.max(0, action.opacity));
      return { ...state, overlays: { ...state.overlays, [action.key]: { ...current, opacity } } };
    }
    case 'highlight':
      return { ...state, highlight: action.highlight };
  }
}

/** The PUT body for the current local state. */
export function editRequestOf(state: ReviewState): ReportEditRequest {
  return {
    sections: { ...state.sections },
    decisions: state.report.findings.map((f) => ({ code: f.code, sopInstanceUid: f.sopInstanceUid, decision: state.decisions[findingKey(f)] ?? null })),
  };
}

/** Positive findings still waiting for accept/reject (the service refuses to sign while any remain). */
export function undecidedPositives(state: ReviewState): ReportFinding[] {
  return state.report.findings.filter((f) => f.positive && !state.decisions[findingKey(f)]);
}
