/**
 * The PACS export metrics, on the service's registry (the API and the worker of one process share it):
 *
 * - `cxr_report_pacs_exports_total{outcome}`: queued (asked for), delivered, retrying (an attempt the
 *   PACS could not take; held and resent), failed (refused for good or held too long), not-queued
 *   (signing could not queue it).
 * - `cxr_report_pacs_exports_pending{state}`: exports not yet delivered or failed, by the state the
 *   API gives them (`exportStateOf`): queued (BullMQ waiting/prioritized), sending (active), retrying
 *   (delayed: held after the PACS could not take it).
 * - `cxr_report_pacs_export_oldest_held_seconds`: age of the oldest of those (0 when there is none):
 *   what an alert on a PACS that has been down for a while wants.
 *
 * Choices, and why:
 * - The two gauges are read from the queue at scrape time (`getJobCounts`: one script, a length per
 *   list), not kept up by the code that moves jobs: nothing to get out of step, right after a restart,
 *   and the same from every replica (the queue is shared): aggregate with max(), not sum().
 * - Delayed counts as retrying: exports are never queued with a delay, so a delayed export is one held
 *   after an attempt (`exportStateOf`'s "delayed with no attempt yet" does not arise).
 * - The age is measured from when the export was queued (the job's timestamp) and counts sending jobs
 *   too: a held export is active while it is being resent, and leaving it out would drop the gauge to 0
 *   for that scrape and restart the alert's `for`.
 * - Bounded: BullMQ orders the delayed set by the next attempt, not by age, and once the backoff reaches
 *   its cap every held export is resent every 10 min in an order that says nothing about age, so no
 *   range query finds the oldest. We read the first OLDEST_SCAN_LIMIT jobs of each state (one script,
 *   then one hash read per job), and only when something is pending: exact up to that many held
 *   exports; beyond, the oldest of those due soonest (a lower bound; the pending gauge says how many
 *   there are). Scanning all of them on every scrape of every replica would cost O(held) reads just
 *   when the PACS has been down longest.
 * - Redis unreachable (or a read that takes over READ_TIMEOUT_MS): the scrape keeps the last values,
 *   as `cxr_report_reports` does, rather than failing or hanging.
 */
import type { JobType, Queue } from 'bullmq';
import type { PacsExportState } from '@cxr/contracts';
import { prom } from '@cxr/platform';

export interface PacsExportMetrics {
  exports: prom.Counter<'outcome'>;
}

/** What the gauges read of the `pacs-export` queue. */
export type PacsExportBacklogSource = Pick<Queue, 'getJobCounts' | 'getJobs'>;

export interface PacsExportMetricsOptions {
  /**
   * The `pacs-export` queue: given, the pending and oldest-held gauges are registered too (once per
   * registry; the queue of the first call that registers them is the one read).
   */
  queue?: PacsExportBacklogSource;
  /** Milliseconds since the epoch; default Date.now. */
  now?: () => number;
}

type PendingState = Extract<PacsExportState, 'queued' | 'sending' | 'retrying'>;

/** The BullMQ states of an export not yet delivered or failed, by the export state the API names (see `exportStateOf`). */
const PENDING: Record<PendingState, JobType[]> = {
  queued: ['waiting', 'prioritized'],
  sending: ['active'],
  retrying: ['delayed'],
};
const PENDING_JOB_TYPES = Object.values(PENDING).flat();
const OLDEST_SCAN_LIMIT = 200;
const READ_TIMEOUT_MS = 2000;

interface Backlog {
  pending: Record<PendingState, number>;
  oldestHeldSeconds: number;
}

/** Registers the counter (and, with a queue, the gauges) once per registry. */
export function createPacsExportMetrics(registry: prom.Registry, options: PacsExportMetricsOptions = {}): PacsExportMetrics {
  const existing = registry.getSingleMetric('cxr_report_pacs_exports_total') as prom.Counter<'outcome'> | undefined;
  const exports =
    existing ??
    new prom.Counter({
      name: 'cxr_report_pacs_exports_total',
      help: 'Report exports to the PACS (STOW-RS), by outcome: queued, delivered, retrying, failed, not-queued',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
  if (options.queue && !registry.getSingleMetric('cxr_report_pacs_exports_pending')) registerBacklogGauges(registry, options.queue, options.now ?? Date.now);
  return { exports };
}

function registerBacklogGauges(registry: prom.Registry, queue: PacsExportBacklogSource, now: () => number): void {
  // Both gauges are collected in the same scrape (prom-client collects concurrently): one read serves both.
  let reading: Promise<Backlog | null> | undefined;
  const read = (): Promise<Backlog | null> =>
    (reading ??= withTimeout(readBacklog(queue, now), READ_TIMEOUT_MS)
      .catch(() => null)
      .finally(() => {
        reading = undefined;
      }));

  new prom.Gauge({
    name: 'cxr_report_pacs_exports_pending',
    help: 'Report exports not yet delivered to the PACS or failed, by state: queued, sending, retrying (held after the PACS could not take them)',
    labelNames: ['state'] as const,
    registers: [registry],
    async collect() {
      const backlog = await read();
      if (!backlog) return; // Redis down: keep the last values rather than failing the scrape.
      for (const [state, count] of Object.entries(backlog.pending)) this.set({ state }, count);
    },
  });
  new prom.Gauge({
    name: 'cxr_report_pacs_export_oldest_held_seconds',
    help: 'Age of the oldest report export not yet delivered to the PACS or failed (queued, sending or held for a retry), since it was queued; 0 when none',
    registers: [registry],
    async collect() {
      const backlog = await read();
      if (backlog) this.set(backlog.oldestHeldSeconds);
    },
  });
}

async function readBacklog(queue: PacsExportBacklogSource, now: () => number): Promise<Backlog> {
  const counts = await queue.getJobCounts(...PENDING_JOB_TYPES);
  const sum = (types: JobType[]) => types.reduce((total, type) => total + (counts[type] ?? 0), 0);
  const pending: Record<PendingState, number> = { queued: sum(PENDING.queued), sending: sum(PENDING.sending), retrying: sum(PENDING.retrying) };
  if (pending.queued + pending.sending + pending.retrying === 0) return { pending, oldestHeldSeconds: 0 };
  // Lists oldest first (asc); the delayed set by next attempt (see the file note).
  const jobs = await queue.getJobs(PENDING_JOB_TYPES, 0, OLDEST_SCAN_LIMIT - 1, true);
  const queuedAt = jobs.map((job) => job.timestamp).filter((t) => Number.isFinite(t) && t > 0);
  const oldestHeldSeconds = queuedAt.length > 0 ? Math.max(0, now() - Math.min(...queuedAt)) / 1000 : 0;
  return { pending, oldestHeldSeconds };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer from Redis in ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
