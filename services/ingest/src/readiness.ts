/**
 * Readiness that answers at once: each dependency's check is given `timeoutMs`, and a check that
 * takes longer counts as down for this answer. A check still running is not started again: while
 * Redis or storage hangs, a load balancer probing every second would otherwise pile up one more
 * hung request per probe. Its result, when it comes, is the answer of the next probe that finds it
 * finished within its time.
 */
export type ReadinessCheck = () => Promise<boolean>;

export class ReadinessProbe {
  private readonly inFlight = new Map<string, Promise<boolean>>();

  constructor(
    private readonly checks: Record<string, ReadinessCheck>,
    private readonly timeoutMs: number,
  ) {}

  /** Every check's answer, each within `timeoutMs` (false = down, slow or failed). */
  async check(): Promise<Record<string, boolean>> {
    const names = Object.keys(this.checks);
    const answers = await Promise.all(names.map((name) => this.one(name)));
    return Object.fromEntries(names.map((name, i) => [name, answers[i]!]));
  }

  private async one(name: string): Promise<boolean> {
    let running = this.inFlight.get(name);
    if (!running) {
      running = this.checks[name]!().then((ok) => ok === true, () => false);
      this.inFlight.set(name, running);
      void running.finally(() => this.inFlight.delete(name));
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), this.timeoutMs);
    });
    try {
      return await Promise.race([running, late]);
    } finally {
      clearTimeout(timer);
    }
  }
}
