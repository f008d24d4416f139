/**
 * The safety net under study completion. Recording an instance marks its study "awaiting
 * completion" in the same Redis script (study-registry.ts), and only a finished completion run
 * clears the mark; scheduling the completion job is a second step that can fail on its own (Redis
 * stalled: the record ran late, after the sender had been told 0xA700; the process died between the
 * two). The reconciler periodically schedules the completion of every study marked longer than
 * `graceMs` ago. A study the normal paths already completed is a no-op run (same instances: the
 * processor returns 'unchanged'), so a study never gets a second draft from it.
 */
import { errorMessage, type Logger } from '@cxr/platform';
import type { CompletionScheduler } from './completion-scheduler.ts';
import type { StudyRegistry } from './study-registry.ts';

export class CompletionReconciler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly deps: {
      registry: StudyRegistry;
      scheduler: CompletionScheduler;
      logger: Logger;
      graceMs: number;
      intervalMs: number;
    },
  ) {}

  /** Schedules the completion of every study awaiting it for longer than the grace period; returns how many. */
  async reconcile(): Promise<number> {
    const { registry, scheduler, logger, graceMs } = this.deps;
    const studies = await registry.studiesAwaitingCompletion(graceMs);
    for (const study of studies) {
      await scheduler.reconciled(study);
      logger.info({ studyKey: registry.studyKey(study) }, 'study recorded but not completed: completion scheduled');
    }
    return studies.length;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.reconcile()
        .catch((error: unknown) => this.deps.logger.warn({ reason: errorMessage(error) }, 'completion reconciler failed; trying again later'))
        .finally(() => (this.running = undefined));
    }, this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
