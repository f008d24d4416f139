import { reportUpdatedEventSchema, type ReportUpdatedEvent } from '@cxr/contracts';

/**
 * One EventSource on `/api/events` shared by everything on the page (the open report, the
 * worklist). Events that do not match the contract are dropped. EventSource reconnects by itself
 * after a network error; `onState` reports whether it is connected, and `onResync` listeners
 * hear of each reconnection (events missed meanwhile are not replayed).
 */

export type ReportEventListener = (event: ReportUpdatedEvent) => void;

export interface ReportEvents {
  subscribe(listener: ReportEventListener): () => void;
  /** After a reconnect: updates made while disconnected are not replayed, so refetch. */
  onResync?(listener: () => void): () => void;
}

export class ReportEventStream implements ReportEvents {
  private readonly listeners = new Set<ReportEventListener>();
  private readonly resyncListeners = new Set<() => void>();
  private readyCount = 0;
  private source: EventSource | null = null;

  constructor(
    private readonly url: string,
    private readonly onState: (connected: boolean) => void = () => undefined,
  ) {}

  open(): void {
    if (this.source || typeof EventSource === 'undefined') return;
    const source = new EventSource(this.url);
    source.addEventListener('open', () => this.onState(true));
    source.addEventListener('error', () => this.onState(false));
    // The server sends `ready` on every (re)connection; from the second on, what is shown may be stale.
    source.addEventListener('ready', () => {
      this.readyCount += 1;
      if (this.readyCount > 1) for (const listener of this.resyncListeners) listener();
    });
    source.addEventListener('report-updated', (message) => {
      let data: unknown;
      try {
        data = JSON.parse((message as MessageEvent<string>).data);
      } catch {
        return;
      }
      const parsed = reportUpdatedEventSchema.safeParse(data);
      if (!parsed.success) return;
      for (const listener of this.listeners) listener(parsed.data);
    });
    this.source = source;
  }

  subscribe(listener: ReportEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  close(): void {
    this.source?.close();
    this.source = null;
    this.listeners.clear();
    this.resyncListeners.clear();
  }
}
