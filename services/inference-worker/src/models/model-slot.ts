import type { ImageAnalysis, ModelPackage, PresentationImage } from '@cxr/inference';

/** One image's analysis and the model package that really produced it. */
export interface ModelRun {
  model: ModelPackage;
  analysis: ImageAnalysis;
}

interface Entry {
  model: ModelPackage;
  inFlight: number;
  retired: boolean;
  closed: Promise<void> | undefined;
  drained: () => void;
}

/**
 * The model calls go through here, so the model can be replaced while jobs flow: a call runs
 * wholly on the model that was current when it started and reports which one that was; after
 * `replace`, new calls go to the new model while calls already running finish on the old one,
 * which is closed once the last of them returns. (A job's images run in one call, so a job
 * never mixes models.)
 */
export class ModelSlot {
  private entry: Entry;

  constructor(model: ModelPackage) {
    this.entry = ModelSlot.entryOf(model);
  }

  private static entryOf(model: ModelPackage): Entry {
    return { model, inFlight: 0, retired: false, closed: undefined, drained: () => undefined };
  }

  /** The model new calls go to. */
  get model(): ModelPackage {
    return this.entry.model;
  }

  async analyse(images: PresentationImage[]): Promise<ModelRun[]> {
    const entry = this.entry;
    entry.inFlight++;
    try {
      const analyses = await entry.model.analyse(images);
      return analyses.map((analysis) => ({ model: entry.model, analysis }));
    } finally {
      entry.inFlight--;
      if (entry.retired && entry.inFlight === 0) entry.drained();
    }
  }

  /**
   * Sends every call from now on to `next`. Resolves once the previous model's running calls have
   * finished and it has been closed.
   */
  async replace(next: ModelPackage): Promise<void> {
    const old = this.entry;
    if (old.model === next) return;
    this.entry = ModelSlot.entryOf(next);
    await ModelSlot.retire(old);
  }

  /** Closes the current model (after its running calls); for shutdown. */
  async close(): Promise<void> {
    await ModelSlot.retire(this.entry);
  }

  private static retire(entry: Entry): Promise<void> {
    if (!entry.closed) {
      entry.retired = true;
      const drained = entry.inFlight === 0 ? Promise.resolve() : new Promise<void>((resolve) => (entry.drained = resolve));
      entry.closed = drained.then(() => entry.model.close());
    }
    return entry.closed;
  }
}
