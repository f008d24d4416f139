import { reportUpdatedEventSchema, type ReportUpdatedEvent } from '@cxr/contracts';
import { errorMessage, type Logger, type Redis } from '@cxr/platform';

/**
 * Fans report updates out to this process's live listeners (server-sent event streams).
 *
 * Whichever replica changes a report publishes the update on a Redis channel (ReportStore does,
 * after writing the object and the index); every replica subscribes once and passes each update
 * to its own listeners. Pub/sub keeps no history: a client that reconnects refetches what it
 * shows instead of replaying missed updates (the stream says `ready` when it is live).
 */
export type ReportUpdateListener = (update: ReportUpdatedEvent) => void;

export class ReportUpdatesHub {
  private readonly listeners = new Map<ReportUpdateListener, () => void>();
  private started = false;

  constructor(
    /** A connection of its own: a subscribed connection can do nothing else. */
    private readonly subscriber: Redis,
    private readonly channel: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    this.subscriber.on('message', (channel: string, message: string) => {
      if (channel === this.channel) this.dispatch(message);
    });
    await this.subscriber.subscribe(this.channel);
  }

  get size(): number {
    return this.listeners.size;
  }

  /** Registers a listener (`onClose` runs if the hub closes first); call the returned function to remove it. */
  listen(listener: ReportUpdateListener, onClose: () => void = () => undefined): () => void {
    this.listeners.set(listener, onClose);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Ends every listener (streams close, clients reconnect elsewhere) and unsubscribes. */
  async close(): Promise<void> {
    const closers = [...this.listeners.values()];
    this.listeners.clear();
    for (const onClose of closers) onClose();
    if (this.started) await this.subscriber.unsubscribe(this.channel).catch(() => undefined);
  }

  private dispatch(message: string): void {
    let update: ReportUpdatedEvent;
    try {
      update = reportUpdatedEventSchema.parse(JSON.parse(message));
    } catch (error) {
      this.logger.warn({ err: errorMessage(error) }, 'ignored a malformed report update');
      return;
    }
    for (const listener of this.listeners.keys()) {
      try {
        listener(update);
      } catch (error) {
        this.logger.warn({ err: errorMessage(error) }, 'report update listener failed');
      }
    }
  }
}
