// The worker's model registry: which model package is in service, and replacing it without
// dropping jobs. A new version is fetched and verified (model-store.ts), loaded beside the old one
// (in its own thread by default), warmed up, and only then swapped in (model-slot.ts): calls already
// running finish on the old model, which is then closed. A package that fails any check is refused
// with its reason logged and counted, and the old model stays in service.
import { ModelPackageError, loadModelPackage, loadModelPackageInThread, type LoadOptions, type ModelPackage } from '@cxr/inference';
import { errorMessage, type Logger, type prom } from '@cxr/platform';
import type { Registry } from 'prom-client';
import { createModelMetrics } from '../metrics.ts';
import { describeSource, formatModelRef, type ModelRef } from './model-ref.ts';
import { ModelSlot } from './model-slot.ts';
import { resolveModelPackage, type ModelStoreDeps } from './model-store.ts';
import { warmUp } from './warm-up.ts';

/** What to load: a package directory as it is (`WORKER_MODEL_DIR`), or `id@version` from the model source. */
export type ModelSpec = { kind: 'dir'; dir: string } | { kind: 'ref'; ref: ModelRef };

export type SwitchOutcome = 'switched' | 'unchanged' | 'refused';

export interface ModelRegistryDeps {
  store: ModelStoreDeps;
  loadOptions: LoadOptions;
  /** Load each package in a worker thread (`loadModelPackageInThread`). */
  thread: boolean;
  /** The model thread's CPUs (WORKER_MODEL_CPUS); any by default. */
  threadCpus?: readonly number[];
  /** Images in the warm-up batch (the largest batch the worker will run). */
  warmUpImages: number;
  logger: Logger;
  metrics: Registry;
  /**
   * Refuse a package without an out-of-distribution detector (the default: a model must refuse what
   * it was not built for; `WORKER_ALLOW_MODELS_WITHOUT_OOD` for development only).
   */
  requireOodDetector?: boolean;
  /** Told about every model put into service (main.ts watches its thread and publishes its scope). */
  onActivated?: (model: ModelPackage) => void;
}

const refOf = (model: ModelPackage): string => `${model.manifest.id}@${model.manifest.version}`;

export class ModelRegistry {
  private slot: ModelSlot | undefined;
  /** One load or switch at a time. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Versions refused for a fault of the package, and why: not retried until `forgetRefusals()`. */
  private readonly refused = new Map<string, string>();
  private readonly info: prom.Gauge<'id' | 'version' | 'sha256' | 'provider'>;
  private readonly provider: prom.Gauge<'provider'>;
  private readonly switches: prom.Counter<'outcome'>;

  constructor(private readonly deps: ModelRegistryDeps) {
    const metrics = createModelMetrics(deps.metrics);
    this.info = metrics.info;
    this.provider = metrics.provider;
    this.switches = metrics.switches;
  }

  /** The slot model calls go through; set once `start` has succeeded. */
  get models(): ModelSlot {
    if (!this.slot) throw new Error('the model registry has not been started');
    return this.slot;
  }

  /** Loads, checks and warms up the first model. Throws (ModelPackageError for a bad package): the worker must not become ready. */
  start(spec: ModelSpec): Promise<ModelSlot> {
    return this.serialised(async () => {
      const model = await this.load(spec);
      this.slot = new ModelSlot(model);
      this.activated(model);
      return this.slot;
    });
  }

  /**
   * Puts `ref` into service unless it already is. A package that fails its checks (or its warm-up)
   * is refused: logged with the reason, counted, remembered (not retried until `forgetRefusals`),
   * and the current model stays. Storage trouble is also a refusal, but not remembered.
   */
  switchTo(ref: ModelRef): Promise<SwitchOutcome> {
    return this.serialised(async () => {
      const slot = this.models;
      const name = formatModelRef(ref);
      if (refOf(slot.model) === name) return 'unchanged';
      if (this.refused.has(name)) return 'refused';
      const { logger } = this.deps;
      logger.info({ model: name, current: refOf(slot.model), source: describeSource(this.deps.store.source) }, 'loading a new model version beside the current one');
      let next: ModelPackage;
      try {
        next = await this.load({ kind: 'ref', ref });
      } catch (error) {
        if (error instanceof ModelPackageError) this.refused.set(name, error.message);
        this.switches.inc({ outcome: 'refused' });
        logger.error({ model: name, current: refOf(slot.model), reason: errorMessage(error) }, 'model version refused; the current model stays in service');
        return 'refused';
      }
      const previous = slot.model;
      const retired = slot.replace(next);
      this.activated(next);
      this.switches.inc({ outcome: 'switched' });
      // The old model finishes its running calls and closes in the background.
      retired.then(
        () => logger.info({ model: refOf(previous) }, 'previous model released'),
        (error: unknown) => logger.warn({ model: refOf(previous), reason: errorMessage(error) }, 'previous model did not close cleanly'),
      );
      return 'switched';
    });
  }

  /** Lets refused versions be tried again (SIGHUP: the operator may have re-published a fixed package). */
  forgetRefusals(): void {
    this.refused.clear();
  }

  async close(): Promise<void> {
    await this.queue.catch(() => undefined);
    await this.slot?.close();
  }

  private serialised<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(spec: ModelSpec): Promise<ModelPackage> {
    const { store, loadOptions, thread, threadCpus, warmUpImages, logger } = this.deps;
    const dir = spec.kind === 'dir' ? spec.dir : await resolveModelPackage(spec.ref, store);
    const model = thread ? await loadModelPackageInThread(dir, loadOptions, threadCpus ? { cpus: threadCpus } : {}) : await loadModelPackage(dir, loadOptions);
    if (this.deps.requireOodDetector !== false && !model.hasOodDetector) {
      await model.close();
      throw new ModelPackageError(
        `${refOf(model)}: the package has no out-of-distribution detector (manifest 'ood'; see docs/model-package.md, npm run model:fit-ood), so it cannot refuse images it was not built for`,
      );
    }
    try {
      const warmUpMs = await warmUp(model, warmUpImages);
      logger.info(
        {
          model: refOf(model), sha256: model.sha256, executionProvider: model.executionProvider, requested: loadOptions.executionProviders,
          fallback: model.fallback, thread, warmUpMs: Math.round(warmUpMs), from: spec.kind === 'dir' ? spec.dir : describeSource(store.source),
        },
        'model loaded and warmed up',
      );
      return model;
    } catch (error) {
      await model.close();
      throw new ModelPackageError(`${refOf(model)}: warm-up failed (${errorMessage(error)})`, { cause: error });
    }
  }

  private activated(model: ModelPackage): void {
    this.info.reset();
    this.info.set({ id: model.manifest.id, version: model.manifest.version, sha256: model.sha256, provider: model.executionProvider }, 1);
    this.provider.reset();
    this.provider.set({ provider: model.executionProvider }, 1);
    this.deps.onActivated?.(model);
  }
}
