import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import type { ReportResponse } from '@cxr/contracts';
import { ReportApiError, StaleReportError, type ReportApiClient } from '../api-client.ts';
import { PRIORITY_LABELS, STATUS_LABELS } from '../format.ts';
import type { ReportEvents } from '../live-events.ts';
import { editRequestOf, initialReviewState, reviewReducer, undecidedPositives, type ReviewAction, type ReviewState } from '../review-state.ts';
import { FindingsPanel } from './FindingsPanel.tsx';
import { ImageWithOverlays } from './ImageWithOverlays.tsx';
import { PriorStudyPanel } from './PriorStudyPanel.tsx';
import { ReportEditor } from './ReportEditor.tsx';
import { SignBar } from './SignBar.tsx';

/**
 * One study's report under review: loads it, keeps the local edits, saves and signs with the
 * report's ETag, and follows live `report-updated` events for the study (reloading when nothing
 * is edited locally, otherwise telling the reader that a save would be refused).
 * Used by the standalone `/viewer` page and by the OHIF panel (`layout="panel"`).
 */

export interface ReviewWorkspaceProps {
  api: ReportApiClient;
  studyInstanceUid: string;
  /** A report already in hand (server rendering, tests); it is still refreshed by live events. */
  initialReport?: ReportResponse;
  events?: ReportEvents;
  /** 'wide': images beside the panels (standalone page); 'panel': one narrow column (OHIF side panel). */
  layout?: 'wide' | 'panel';
  canEdit?: boolean;
}

interface Message {
  kind: 'error' | 'info';
  text: string;
  /** Offer to reload (stale report, changed elsewhere). */
  reload?: boolean;
}

type MaybeState = ReviewState | null;

function reducer(state: MaybeState, action: ReviewAction): MaybeState {
  if (action.type === 'loaded') return state && state.report.studyInstanceUid === action.report.studyInstanceUid ? reviewReducer(state, action) : initialReviewState(action.report);
  return state ? reviewReducer(state, action) : state;
}

function messageOf(error: unknown): Message {
  if (error instanceof StaleReportError) return { kind: 'error', text: error.message, reload: true };
  if (error instanceof ReportApiError) return { kind: 'error', text: error.message };
  return { kind: 'error', text: `Unexpected error: ${error instanceof Error ? error.message : String(error)}` };
}

export function ReviewWorkspace({ api, studyInstanceUid, initialReport, events, layout = 'wide', canEdit = true }: ReviewWorkspaceProps) {
  const [state, dispatch] = useReducer(reducer, initialReport ? initialReviewState(initialReport) : null);
  const [message, setMessage] = useState<Message | null>(null);
  const [busy, setBusy] = useState(false);
  const [loading, setLoading] = useState(!initialReport);
  const stateRef = useRef(state);
  stateRef.current = state;
  // Our own writes also produce events; while one is in flight its answer is the news.
  const writingRef = useRef(false);

  const load = useCallback(
    async (announce?: string) => {
      setLoading(true);
      try {
        const report = await api.getReport(studyInstanceUid);
        dispatch({ type: 'loaded', report });
        setMessage(announce ? { kind: 'info', text: announce } : null);
      } catch (error) {
        setMessage(messageOf(error));
      } finally {
        setLoading(false);
      }
    },
    [api, studyInstanceUid],
  );

  useEffect(() => {
    if (initialReport && initialReport.studyInstanceUid === studyInstanceUid) return;
    void load();
  }, [load, initialReport, studyInstanceUid]);

  useEffect(() => {
    if (!events) return undefined;
    const stopResync = events.onResync?.(() => {
      if (!stateRef.current?.dirty && !writingRef.current) void load();
    });
    const stopUpdates = events.subscribe((event) => {
      const current = stateRef.current;
      if (event.studyInstanceUid !== studyInstanceUid || writingRef.current) return;
      if (current && event.revision === current.report.revision && event.status === current.report.status) return;
      if (current?.dirty) {
        setMessage({ kind: 'error', text: `This report was changed elsewhere (now revision ${event.revision}); saving your edits would be refused.`, reload: true });
      } else {
        void load(`Report updated (revision ${event.revision}).`);
      }
    });
    return () => {
      stopResync?.();
      stopUpdates();
    };
  }, [events, studyInstanceUid, load]);

  const run = async (action: () => Promise<string>) => {
    setBusy(true);
    writingRef.current = true;
    setMessage(null);
    try {
      setMessage({ kind: 'info', text: await action() });
    } catch (error) {
      setMessage(messageOf(error));
    } finally {
      writingRef.current = false;
      setBusy(false);
    }
  };

  const save = async (current: ReviewState): Promise<ReportResponse> => {
    const saved = await api.saveReport(studyInstanceUid, current.report.etag, editRequestOf(current));
    dispatch({ type: 'loaded', report: saved });
    return saved;
  };

  if (!state) {
    return (
      <div className={`cxr-workspace cxr-layout-${layout}`} data-testid="review-workspace" aria-busy={loading}>
        {loading ? <p role="status">Loading the report…</p> : null}
        {message ? <MessageBox message={message} onReload={() => void load()} /> : null}
      </div>
    );
  }

  const { report } = state;
  const readOnly = report.signed || !canEdit;
  const imageNumbers = report.images.length > 1 ? Object.fromEntries(report.images.map((image, i) => [image.sopInstanceUid, i + 1])) : undefined;
  const on = {
    decide: (key: string, decision: ReviewState['decisions'][string]) => dispatch({ type: 'decide', key, decision }),
    toggle: (key: string, visible: boolean) => dispatch({ type: 'toggle-overlay', key, visible }),
    opacity: (key: string, opacity: number) => dispatch({ type: 'set-opacity', key, opacity }),
    highlight: (highlight: ReviewState['highlight']) => dispatch({ type: 'highlight', highlight }),
  };

  return (
    <div className={`cxr-workspace cxr-layout-${layout}`} data-testid="review-workspace" data-status={report.status} aria-busy={loading || busy}>
      <header className="cxr-study-header">
        <h1 className="cxr-study-title">
          Study <span className="cxr-uid" data-testid="study-uid">{report.studyInstanceUid}</span>
        </h1>
        <span className={`cxr-status cxr-status-${report.status}`} data-testid="report-status">
          {STATUS_LABELS[report.status]}
        </span>
        <span className={`cxr-priority cxr-priority-${report.priority}`}>{PRIORITY_LABELS[report.priority]}</span>
      </header>
      {message ? <MessageBox message={message} onReload={() => void load('Reloaded the latest version.')} /> : null}
      {report.status === 'out-of-scope' ? (
        <OutOfScopeBanner report={report} />
      ) : report.status === 'draft' || report.status === 'signed' ? (
        <div className="cxr-review">
          {report.outOfScopeImages.length > 0 ? <OutOfScopeBanner report={report} /> : null}
          <div className={`cxr-review-images${report.priorStudy ? ' cxr-side-by-side' : ''}`}>
            <section className="cxr-current" aria-label="Current study">
              {report.priorStudy ? <h2 className="cxr-prior-title">Current study</h2> : null}
              <ImageWithOverlays report={report} overlays={state.overlays} highlight={state.highlight} />
            </section>
            <PriorStudyPanel report={report} />
          </div>
          <div className="cxr-review-side">
            <FindingsPanel
              findings={report.findings}
              decisions={state.decisions}
              overlays={state.overlays}
              highlight={state.highlight}
              readOnly={readOnly}
              imageNumbers={imageNumbers}
              onDecide={on.decide}
              onToggleOverlay={on.toggle}
              onOpacity={on.opacity}
              onHighlight={on.highlight}
            />
            <ReportEditor
              report={report}
              sections={state.sections}
              readOnly={readOnly}
              dirty={state.dirty}
              highlight={state.highlight}
              onEdit={(section, text) => dispatch({ type: 'edit-section', section, text })}
              onHighlight={on.highlight}
            />
            <SignBar
              report={report}
              dirty={state.dirty}
              busy={busy}
              canEdit={canEdit}
              undecided={undecidedPositives(state).length}
              onSave={() => void run(async () => `Saved (revision ${(await save(state)).revision}).`)}
              onSign={(attestation) =>
                void run(async () => {
                  const etag = state.dirty ? (await save(state)).etag : report.etag;
                  const signed = await api.signReport(studyInstanceUid, etag, attestation);
                  dispatch({ type: 'loaded', report: signed });
                  return 'Report signed.';
                })
              }
              onAddendum={async (text) => {
                let ok = false;
                await run(async () => {
                  const updated = await api.addAddendum(studyInstanceUid, report.etag, text);
                  dispatch({ type: 'loaded', report: updated });
                  ok = true;
                  return 'Addendum added.';
                });
                return ok;
              }}
            />
          </div>
        </div>
      ) : (
        <p className="cxr-panel" data-testid="no-draft">
          {STATUS_LABELS[report.status]}
          {report.statusReason ? `: ${report.statusReason}` : '.'}
        </p>
      )}
    </div>
  );
}

/**
 * What the AI model refused and why. For an out-of-scope study it stands instead of the findings: the
 * model was not built for these images, so nothing it would say about them is shown. In a draft, it
 * names the images no finding comes from.
 */
function OutOfScopeBanner({ report }: { report: ReportResponse }) {
  const whole = report.status === 'out-of-scope';
  return (
    <section className={`cxr-out-of-scope${whole ? ' cxr-out-of-scope-study' : ''}`} role={whole ? 'alert' : 'note'} data-testid="out-of-scope-banner">
      <h2 className="cxr-out-of-scope-title">
        {whole ? 'No AI findings: the AI model was not built for this study' : 'Some images were not read by the AI model'}
      </h2>
      {whole && report.statusReason ? (
        <p data-testid="out-of-scope-reason" data-check={report.outOfScopeImages.length === 1 ? report.outOfScopeImages[0]!.check : 'several'}>
          {report.statusReason}
        </p>
      ) : null}
      {whole && report.outOfScopeImages.length === 1 ? null : (
      <ul className="cxr-out-of-scope-images">
        {report.outOfScopeImages.map((image) => (
          <li key={image.sopInstanceUid} data-testid="out-of-scope-image" data-check={image.check}>
            {image.reason} <span className="cxr-uid">({image.sopInstanceUid})</span>
          </li>
        ))}
      </ul>
      )}
      <p className="cxr-out-of-scope-note">Read the images without AI assistance. The reference model is trained on synthetic images only.</p>
    </section>
  );
}

function MessageBox({ message, onReload }: { message: Message; onReload(): void }) {
  return (
    <div
      className={`cxr-message cxr-message-${message.kind}`}
      role={message.kind === 'error' ? 'alert' : 'status'}
      data-testid={message.kind === 'error' ? 'error-message' : 'status-message'}
    >
      <span>{message.text}</span>
      {message.reload ? (
        <button type="button" className="cxr-button" onClick={onReload} data-testid="reload-report">
          Reload report (discards unsaved changes)
        </button>
      ) : null}
    </div>
  );
}
