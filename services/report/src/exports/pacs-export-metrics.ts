import { prom } from '@cxr/platform';

/**
 * `cxr_report_pacs_exports_total{outcome}`, on the service's registry:
 * queued (asked for), delivered, retrying (an attempt the PACS could not take; held and resent),
 * failed (refused for good or held too long), not-queued (signing could not queue it).
 */
export interface PacsExportMetrics {
  exports: prom.Counter<'outcome'>;
}

const NAME = 'cxr_report_pacs_exports_total';

/** Registers the counter once per registry (the API and the worker of one process share it). */
export function createPacsExportMetrics(registry: prom.Registry): PacsExportMetrics {
  const existing = registry.getSingleMetric(NAME) as prom.Counter<'outcome'> | undefined;
  const exports =
    existing ??
    new prom.Counter({
      name: NAME,
      help: 'Report exports to the PACS (STOW-RS), by outcome: queued, delivered, retrying, failed, not-queued',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
  return { exports };
}
