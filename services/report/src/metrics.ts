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
  /** The second read (second-read/): final reports taken in, per-finding agreement with the AI, discrepancies and their reviews. */
  secondRead: SecondReadMetrics;
}

export interface SecondReadMetrics {
  /** Final reports by source (hl7-oru, fhir, dicom-sr, review-sign, api) and outcome (compared, duplicate, refused, unmatched, error). */
  finalReports: prom.Counter<'source' | 'outcome'>;
  /** Per finding of each compared report: agree, discrepancy or indeterminate. Agreement rate = agree / (agree + discrepancy). */
  findings: prom.Counter<'finding' | 'agreement'>;
  discrepancies: prom.Counter<'finding' | 'kind'>;
  /** Peer reviews of discrepancies by finding and outcome (confirmed-miss, ai-wrong, not-clinically-relevant). */
  reviews: prom.Counter<'finding' | 'outcome'>;
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
  const secondRead: SecondReadMetrics = {
    finalReports: new prom.Counter({
      name: 'cxr_second_read_final_reports_total',
      help: 'Final reports taken in for the second read, by source and outcome',
      labelNames: ['source', 'outcome'] as const,
      registers: [registry],
    }),
    findings: new prom.Counter({
      name: 'cxr_second_read_findings_total',
      help: 'Findings compared between a final report and the AI, by finding and agreement (agree, discrepancy, indeterminate)',
      labelNames: ['finding', 'agreement'] as const,
      registers: [registry],
    }),
    discrepancies: new prom.Counter({
      name: 'cxr_second_read_discrepancies_total',
      help: 'Discrepancies put on the peer-review worklist, by finding and kind',
      labelNames: ['finding', 'kind'] as const,
      registers: [registry],
    }),
    reviews: new prom.Counter({
      name: 'cxr_second_read_reviews_total',
      help: 'Peer reviews of discrepancies, by finding and outcome',
      labelNames: ['finding', 'outcome'] as const,
      registers: [registry],
    }),
  };
  return { registry, eventsProcessed, draftComposition, e2eLatency, secondRead };
}
