import { reportStatusSchema, type ReportStatus } from '@cxr/contracts';
import { createMetricsRegistry, prom } from '@cxr/platform';

/** The service's Prometheus metrics, on one registry served at /metrics. */
export interface ReportMetrics {
  registry: prom.Registry;
  /** Report events by type and outcome (applied, duplicate, stale-version, superseded, rejected, invalid, error). */
  eventsProcessed: prom.Counter<'type' | 'outcome'>;
  /** Loading the analysis result, composing the draft and rendering its overlays. */
  draftComposition: prom.Histogram<never>;
  /**
   * End to end: from ingest holding the study complete (last instance stored, just before the DIMSE
   * release or the STOW-RS response) to its AI draft being available here.
   */
  e2eLatency: prom.Histogram<never>;
}

export function createReportMetrics(countByStatus: () => Promise<Record<ReportStatus, number>>): ReportMetrics {
  const registry = createMetricsRegistry('report');
  const eventsProcessed = new prom.Counter({
    name: 'cxr_report_events_processed_total',
    help: 'Report events processed, by event type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [registry],
  });
  const draftComposition = new prom.Histogram({
    name: 'cxr_report_draft_composition_seconds',
    help: 'Time to load an analysis result, compose its draft and render its overlays',
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const e2eLatency = new prom.Histogram({
    name: 'cxr_report_e2e_latency_seconds',
    help: 'Time from a study being complete at ingest (last instance stored and acknowledged) to its AI draft being available',
    // A draft within seconds when the queue is empty; minutes when studies queue behind a backlog.
    buckets: [0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800],
    registers: [registry],
  });
  new prom.Gauge({
    name: 'cxr_report_reports',
    help: 'Reports by status, from the Redis index',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      // Redis down: keep the last values rather than failing the whole scrape.
      const counts = await countByStatus().catch(() => null);
      if (!counts) return;
      for (const status of reportStatusSchema.options) this.set({ status }, counts[status]);
    },
  });
  return { registry, eventsProcessed, draftComposition, e2eLatency };
}
