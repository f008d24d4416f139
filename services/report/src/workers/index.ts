/**
 * The queue workers the report service runs (one file per queue beside this one), started and
 * closed together: `report-events` always, `pacs-export` when a PACS is configured,
 * `final-reports` (DICOM SR text from ingest) when the second read is wired.
 */
import type { Worker } from 'bullmq';
import type { FinalReportResult, PacsDelivery } from '@cxr/contracts';
import type { SecondReadService } from '../second-read/second-read-service.ts';
import { startFinalReportsWorker } from './final-reports.ts';
import { startPacsExportWorker, type PacsExportWorkerDeps } from './pacs-export.ts';
import { startReportEventsConsumer, type ReportEventResult, type ReportEventsConsumerDeps } from './report-events.ts';

export interface ReportWorkersDeps extends ReportEventsConsumerDeps {
  /** What the `pacs-export` worker needs beyond the shared deps; absent: no PACS, no worker. */
  pacs?: Pick<PacsExportWorkerDeps, 'config' | 'service' | 'stow' | 'metrics'>;
  /** A SecondReadService on the worker connection; absent: no `final-reports` worker. */
  secondRead?: SecondReadService;
}

export interface ReportWorkers {
  reportEvents: Worker<unknown, ReportEventResult>;
  pacsExport?: Worker<unknown, PacsDelivery>;
  finalReports?: Worker<unknown, FinalReportResult>;
}

export function initWorkers(deps: ReportWorkersDeps): ReportWorkers {
  const { pacs, secondRead, ...shared } = deps;
  const reportEvents = startReportEventsConsumer(shared);
  const finalReports = secondRead
    ? startFinalReportsWorker({ config: shared.config, logger: shared.logger, connection: shared.connection, secondRead, objects: shared.objects, originalsBucket: shared.config.buckets.originals })
    : undefined;
  const pacsExport = pacs ? startPacsExportWorker({ logger: shared.logger, connection: shared.connection, objects: shared.objects, ...pacs }) : undefined;
  return { reportEvents, ...(pacsExport ? { pacsExport } : {}), ...(finalReports ? { finalReports } : {}) };
}

/** Stops taking jobs and waits for the running ones. */
export async function closeWorkers(workers: ReportWorkers | undefined): Promise<void> {
  if (!workers) return;
  await Promise.allSettled([workers.reportEvents.close(), workers.pacsExport?.close(), workers.finalReports?.close()]);
}
