export { ReportApiClient, ReportApiError, StaleReportError, errorFromResponse, type ReportApiOptions, type TokenProvider, type WorklistQuery } from './api-client.ts';
export { ReportEventStream, type ReportEventListener, type ReportEvents } from './live-events.ts';
export {
  DEFAULT_OVERLAY_OPACITY,
  editRequestOf,
  findingKey,
  initialReviewState,
  reviewReducer,
  undecidedPositives,
  type Highlight,
  type OverlaySetting,
  type ReviewAction,
  type ReviewState,
} from './review-state.ts';
export { CONFIDENCE_LABELS, locationOf, percent, probabilityVsThreshold, STATUS_LABELS } from './format.ts';
export { decodeTokenClaims, isExpired, TOKEN_STORAGE_KEY, tokenFromFragment, type TokenClaims } from './token-source.ts';
export { FindingsPanel, type FindingsPanelProps } from './components/FindingsPanel.tsx';
export { ImageWithOverlays, type ImageWithOverlaysProps } from './components/ImageWithOverlays.tsx';
export { AI_DRAFT_BANNER_DETAIL, AI_DRAFT_BANNER_TITLE, AiDraftBanner, ReportEditor, TEXT_EDITS_NOTE, TextEditsNote, type ReportEditorProps } from './components/ReportEditor.tsx';
export { SIGN_ATTESTATION, SignBar, type SignBarProps } from './components/SignBar.tsx';
export { Worklist, type WorklistProps } from './components/Worklist.tsx';
export { ReviewWorkspace, type ReviewWorkspaceProps } from './components/ReviewWorkspace.tsx';
export { ViewerApp, type ViewerAppProps } from './components/ViewerApp.tsx';
export { DISCREPANCY_KIND_LABELS, DiscrepancyWorklist, REVIEW_OUTCOME_LABELS, type DiscrepancyWorklistProps } from './components/DiscrepancyWorklist.tsx';
