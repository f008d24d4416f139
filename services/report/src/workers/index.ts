/**
 * The queue workers the report service runs (one file per queue beside this one), started and
 * closed together: `report-events` always, `pacs-export` when a PACS is configured.
 */
import type { Worker } from 'bullmq';
import type { PacsDelivery } from '@cxr/contracts';
import { startPacsExportWorker, type PacsExportWorkerDeps } from './pacs-export.ts';
import { startReportEventsConsumer, type ReportEventResult, type ReportEventsConsumerDeps } from './report-events.ts';

export interface ReportWorkersDeps extends ReportEventsConsumerDeps {
  /** What the `pacs-export` worker needs beyond the shared deps; absent: no PACS, no worker. */
  pacs?: Pick<PacsExportWorkerDeps, 'config' | 'service' | 'stow' | 'metrics'>;
}

export interface ReportWorkers {
  reportEvents: Worker<unknown, ReportEventResult>;
  pacsExport?: Worker<unknown, PacsDelivery>;
}

export function initWorkers(deps: ReportWorkersDeps): ReportWorkers {
  const { pacs, ...shared } = deps;
  const reportEvents = startReportEventsConsumer(shared);
  if (!pacs) return { reportEvents };
  const pacsExport = startPacsExportWorker({ logger: shared.logger, connection: shared.connection, objects: shared.objects, ...pacs });
  return { reportEvents, pacsExport };
}

/** Stops taking jobs and waits for the running ones. */
export async function closeWorkers(workers: ReportWorkers | undefined): Promise<void> {
  if (!workers) return;
  await Promise.allSettled([workers.reportEvents.close(), workers.pacsExport?.close()]);
}
