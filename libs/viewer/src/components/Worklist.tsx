import { useCallback, useEffect, useState } from 'react';
import { reportStatusSchema, studyPrioritySchema, type ReportStatus, type StudyPriority, type WorklistItem } from '@cxr/contracts';
import type { ReportApiClient } from '../api-client.ts';
import { formatDateTime, PRIORITY_LABELS, STATUS_LABELS } from '../format.ts';
import type { ReportEvents } from '../live-events.ts';

/**
 * Studies waiting to be read, in the service's order (urgent findings, then priority, then
 * oldest), filtered by status and priority, refreshed when any report changes.
 */

export interface WorklistProps {
  api: ReportApiClient;
  events?: ReportEvents;
  onOpen(studyInstanceUid: string): void;
}

export function Worklist({ api, events, onOpen }: WorklistProps) {
  const [status, setStatus] = useState<ReportStatus | ''>('draft');
  const [priority, setPriority] = useState<StudyPriority | ''>('');
  const [items, setItems] = useState<WorklistItem[] | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    try {
      const list = await api.worklist({ status: status || undefined, priority: priority || undefined, limit: 100 });
      setItems(list.items);
      setError(null);
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    }
  }, [api, status, priority]);

  useEffect(() => {
    void refresh();
  }, [refresh]);
  useEffect(() => {
    if (!events) return undefined;
    const stopUpdates = events.subscribe(() => void refresh());
    const stopResync = events.onResync?.(() => void refresh());
    return () => {
      stopUpdates();
      stopResync?.();
    };
  }, [events, refresh]);

  return (
    <section className="cxr-panel cxr-worklist" aria-labelledby="cxr-worklist-heading" data-testid="worklist">
      <h1 id="cxr-worklist-heading">Worklist</h1>
      <div className="cxr-filters">
        <label>
          Status{' '}
          <select value={status} onChange={(e) => setStatus(e.currentTarget.value as ReportStatus | '')} data-testid="worklist-status">
            <option value="">Any</option>
            {reportStatusSchema.options.map((s) => (
              <option key={s} value={s}>
                {STATUS_LABELS[s]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Priority{' '}
          <select value={priority} onChange={(e) => setPriority(e.currentTarget.value as StudyPriority | '')} data-testid="worklist-priority">
            <option value="">Any</option>
            {studyPrioritySchema.options.map((p) => (
              <option key={p} value={p}>
                {PRIORITY_LABELS[p]}
              </option>
            ))}
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
        <p className="cxr-empty">No studies match.</p>
      ) : (
        <table className="cxr-worklist-table">
          <thead>
            <tr>
              <th scope="col">Study</th>
              <th scope="col">Status</th>
              <th scope="col">Priority</th>
              <th scope="col">AI findings</th>
              <th scope="col">Updated</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.studyInstanceUid} data-testid="worklist-item" data-study-instance-uid={item.studyInstanceUid}>
                <td>
                  <button type="button" className="cxr-link" onClick={() => onOpen(item.studyInstanceUid)}>
                    {item.studyInstanceUid}
                  </button>
                </td>
                <td>{STATUS_LABELS[item.status]}</td>
                <td>{PRIORITY_LABELS[item.priority]}</td>
                <td>
                  {item.positiveFindings}
                  {item.urgentFindings.length > 0 ? <strong className="cxr-urgent"> urgent: {item.urgentFindings.join(', ')}</strong> : null}
                </td>
                <td>
                  <time dateTime={item.updatedAt}>{formatDateTime(item.updatedAt)}</time>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
