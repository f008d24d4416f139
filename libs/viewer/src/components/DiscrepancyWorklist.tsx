import { useCallback, useEffect, useState } from 'react';
import type { Discrepancy, DiscrepancyKind, DiscrepancyReviewOutcome } from '@cxr/contracts';
import type { ReportApiClient } from '../api-client.ts';
import { formatDateTime, percent } from '../format.ts';

/**
 * The peer-review tab: where a radiologist's final report and the AI disagree with confidence
 * (the second read), with the evidence side by side (the AI's heatmap overlay, its probability
 * against the threshold, the report's sentence), and the three calls a reviewer makes. The signed
 * report itself is never changed from here.
 */

export const DISCREPANCY_KIND_LABELS: Record<DiscrepancyKind, string> = {
  'ai-positive-report-absent': 'AI positive, report says absent',
  'ai-positive-report-silent': 'AI positive, report does not mention it',
  'report-positive-ai-negative': 'Report positive, AI confidently negative',
  'side-disagrees': 'Report and AI place it on opposite sides',
};

export const REVIEW_OUTCOME_LABELS: Record<DiscrepancyReviewOutcome, string> = {
  'confirmed-miss': 'Confirmed miss',
  'ai-wrong': 'AI wrong',
  'not-clinically-relevant': 'Not clinically relevant',
};

export interface DiscrepancyWorklistProps {
  api: ReportApiClient;
  onOpen(studyInstanceUid: string): void;
  /** Items to show before (or instead of) the first fetch: server rendering and tests. */
  initialItems?: Discrepancy[];
}

export function DiscrepancyWorklist({ api, onOpen, initialItems }: DiscrepancyWorklistProps) {
  const [status, setStatus] = useState<'open' | 'reviewed'>('open');
  const [items, setItems] = useState<Discrepancy[] | null>(initialItems ?? null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      setItems((await api.discrepancies(status)).items);
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [api, status]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const review = async (id: string, outcome: DiscrepancyReviewOutcome) => {
    setBusy(id);
    try {
      await api.reviewDiscrepancy(id, outcome);
      await refresh();
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(null);
    }
  };

  return (
    <section className="cxr-panel cxr-worklist" aria-labelledby="cxr-peer-review-heading" data-testid="peer-review">
      <h1 id="cxr-peer-review-heading">Peer review: final reports against the AI</h1>
      <p className="cxr-note">
        Second read of signed reports by a reference model trained on synthetic images only: a prompt to look again, not a clinical finding.
      </p>
      <div className="cxr-filters">
        <label>
          Show{' '}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value as 'open' | 'reviewed')} data-testid="peer-review-status">
            <option value="open">Open</option>
            <option value="reviewed">Reviewed</option>
          </select>
        </label>
        <button type="button" className="cxr-button" onClick={() => void refresh()}>
          Refresh
        </button>
      </div>
      {error ? (
        <p role="alert" className="cxr-message cxr-message-error" data-testid="error-message">
          {error}
        </p>
      ) : null}
      {items === null ? (
        <p role="status">Loading…</p>
      ) : items.length === 0 ? (
        <p className="cxr-empty">No discrepancies.</p>
      ) : (
        <table className="cxr-worklist-table">
          <thead>
            <tr>
              <th scope="col">Study</th>
              <th scope="col">Finding</th>
              <th scope="col">Disagreement</th>
              <th scope="col">AI evidence</th>
              <th scope="col">The report says</th>
              <th scope="col">{status === 'open' ? 'Review' : 'Reviewed'}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((d) => (
              <tr key={d.id} data-testid="discrepancy" data-kind={d.kind} data-code={d.code}>
                <td>
                  <button type="button" className="cxr-link" onClick={() => onOpen(d.studyInstanceUid)}>
                    {d.studyInstanceUid}
                  </button>
                  <br />
                  <small>
                    {d.source} · <time dateTime={d.createdAt}>{formatDateTime(d.createdAt)}</time>
                  </small>
                </td>
                <td>{d.display}</td>
                <td>{DISCREPANCY_KIND_LABELS[d.kind]}</td>
                <td>
                  <img src={d.evidence.overlayUrl} alt={`AI heatmap of ${d.display}`} width={96} loading="lazy" data-testid="discrepancy-heatmap" />
                  <br />
                  {percent(d.evidence.probability)} vs threshold {percent(d.evidence.threshold)}
                </td>
                <td data-testid="report-sentence">{d.reportSentence ?? <em>not mentioned</em>}</td>
                <td>
                  {d.review ? (
                    <span data-testid="review-outcome">
                      {REVIEW_OUTCOME_LABELS[d.review.outcome]} by {d.review.reviewer.name}
                    </span>
                  ) : (
                    (Object.keys(REVIEW_OUTCOME_LABELS) as DiscrepancyReviewOutcome[]).map((outcome) => (
                      <button key={outcome} type="button" className="cxr-button" disabled={busy === d.id} onClick={() => void review(d.id, outcome)} data-testid={`review-${outcome}`}>
                        {REVIEW_OUTCOME_LABELS[outcome]}
                      </button>
                    ))
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
