/**
 * Dynamic batching: requests that arrive close together run as one model call. A batch is
 * flushed when it holds `maxItems` items or when the oldest request has waited `maxWaitMs`.
 * Up to `maxRunning` batches run at once (default 1). With 2, a full batch is handed on while
 * another runs, so a model thread that runs batches one after the other always has the next one
 * queued and never waits for this thread to finish the last; a batch that is not full waits until
 * nothing runs (no small batches behind a running one), then starts at once if its oldest request
 * has already waited `maxWaitMs` (time spent behind a running batch counts).
 * Each caller gets back exactly its own results. If a batch of several requests fails, each
 * request is re-run alone, so one bad input fails only its own job.
 */
export interface MicroBatcherOptions<I, O> {
  maxItems: number;
  maxWaitMs: number;
  run: (items: I[]) => Promise<O[]>;
  onBatch?: (size: number, ms: number) => void;
  /** Batches handed to `run` at once; default 1. */
  maxRunning?: number;
}

interface Pending<I, O> {
  items: I[];
  /** performance.now() when it was submitted. */
  at: number;
  resolve: (out: O[]) => void;
  reject: (error: unknown) => void;
}

export class MicroBatcher<I, O> {
  private pending: Pending<I, O>[] = [];
  private pendingItems = 0;
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private readonly maxRunning: number;

  constructor(private readonly options: MicroBatcherOptions<I, O>) {
    if (options.maxItems < 1) throw new RangeError('maxItems must be at least 1');
    this.maxRunning = options.maxRunning ?? 1;
    if (!Number.isInteger(this.maxRunning) || this.maxRunning < 1) throw new RangeError('maxRunning must be a whole number of at least 1');
  }

  /** Runs `items` (one request's worth, kept together in one batch) and returns their outputs. */
  submit(items: I[]): Promise<O[]> {
    return new Promise<O[]>((resolve, reject) => {
      this.pending.push({ items, at: performance.now(), resolve, reject });
      this.pendingItems += items.length;
      if (this.pendingItems >= this.options.maxItems) this.flushSoon(0);
      else this.flushSoon(this.options.maxWaitMs);
    });
  }

  private flushSoon(delayMs: number): void {
    // A running batch flushes what is pending when it ends; meanwhile only a full batch may start.
    if (this.running >= this.maxRunning) return;
    if (this.running > 0 && this.pendingItems < this.options.maxItems) return;
    if (this.timer && delayMs > 0) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.pending.length === 0 || this.running >= this.maxRunning) return;
      this.running++;
      void this.runBatch().finally(() => {
        this.running--;
        if (this.pending.length === 0) return;
        const waited = performance.now() - this.pending[0]!.at;
        this.flushSoon(this.pendingItems >= this.options.maxItems ? 0 : Math.max(0, this.options.maxWaitMs - waited));
      });
      // Another full batch may start beside this one.
      if (this.pendingItems >= this.options.maxItems) this.flushSoon(0);
    }, delayMs);
  }

  private async runBatch(): Promise<void> {
    // Take whole requests until the batch is full (a request larger than maxItems runs alone).
    const batch: Pending<I, O>[] = [];
    let count = 0;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if (batch.length > 0 && count + next.items.length > this.options.maxItems) break;
      batch.push(this.pending.shift()!);
      count += next.items.length;
    }
    this.pendingItems -= count;
    const started = performance.now();
    try {
      const outputs = await this.options.run(batch.flatMap((p) => p.items));
      if (outputs.length !== count) throw new Error(`batch returned ${outputs.length} results for ${count} items`);
      let at = 0;
      for (const p of batch) {
        p.resolve(outputs.slice(at, at + p.items.length));
        at += p.items.length;
      }
      this.options.onBatch?.(count, performance.now() - started);
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      for (const p of batch) {
        try {
          const outputs = await this.options.run(p.items);
          if (outputs.length !== p.items.length) throw new Error(`batch returned ${outputs.length} results for ${p.items.length} items`);
          p.resolve(outputs);
        } catch (own) {
          p.reject(own);
        }
      }
    }
  }
}
