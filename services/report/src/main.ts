import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { Queue } from 'bullmq';
import { QUEUES, type PacsExportJob } from '@cxr/contracts';
import { createLogger, createRequestConnection, createTokenVerifier, createWorkerConnection, errorMessage, initTracing, ObjectStore, openQueue } from '@cxr/platform';
import { createApp } from './app.ts';
import { createHttpAuth } from './auth/index.ts';
import { ReportUpdatesHub } from './live/report-updates-hub.ts';
import { loadConfig } from './config.ts';
import { createPacsExportMetrics } from './exports/pacs-export-metrics.ts';
import { PacsExportQueue } from './exports/pacs-export-queue.ts';
import { StowClient } from './exports/stow-client.ts';
import { createReportService } from './review/report-service.ts';
import { createReportMetrics } from './metrics.ts';
import { createHl7Listener } from './second-read/hl7-listener.ts';
import { createSecondReadService } from './second-read/second-read-service.ts';
import { SecondReadStore } from './second-read/second-read-store.ts';
import { ModelMonitor } from './monitoring/model-monitor.ts';
import { createModelMonitoringMetrics } from './monitoring/monitoring-metrics.ts';
import { ReportStore } from './state/report-store.ts';
import { closeWorkers, initWorkers, type ReportWorkersDeps } from './workers/index.ts';

/** Wires config and clients into the HTTP app and the report-events consumer; shuts down on signals. */
async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const tracing = initTracing('report', config.tracing);
  const logger = createLogger('report', config.logLevel);

  const objects = new ObjectStore(config.s3);
  await objects.ensureBuckets([config.buckets.derived, config.buckets.reports]);

  const workerConnection = createWorkerConnection(config.redisUrl);
  const requestConnection = createRequestConnection(config.redisUrl);
  const storeOptions = { objects, bucket: config.buckets.reports, keyPrefix: config.queuePrefix, urgentFindings: config.urgentFindings };
  const consumerReports = new ReportStore({ ...storeOptions, redis: workerConnection });
  const apiReports = new ReportStore({ ...storeOptions, redis: requestConnection });
  const metrics = createReportMetrics(() => apiReports.countByStatus());
  // Model monitoring: the consumer counts drafts and arrivals, the API counts signed reports and
  // serves /api/model-performance; the /metrics gauges read the drift report over REPORT_DRIFT_WINDOW.
  const monitorOptions = { queuePrefix: config.queuePrefix, retentionDays: config.monitoring.retentionDays, limits: config.monitoring.limits };
  const apiMonitor: ModelMonitor = new ModelMonitor({
    ...monitorOptions,
    redis: requestConnection,
    metrics: createModelMonitoringMetrics(metrics.registry, () => apiMonitor.reportLast(config.monitoring.driftWindowMs)),
  });
  const consumerMonitor = new ModelMonitor({ ...monitorOptions, redis: workerConnection, ...(apiMonitor.metrics ? { metrics: apiMonitor.metrics } : {}) });

  if (config.auth.mode === 'dev') {
    logger.warn('AUTH_MODE=dev: accepting tokens from the built-in development issuer (npm run token); use AUTH_MODE=oidc in production');
  }
  const auth = createHttpAuth({
    verifier: createTokenVerifier(config.auth),
    urlSecret: config.urlSigningSecret ?? randomBytes(32),
    urlTtlSeconds: config.urlTtlSeconds,
  });
  // A subscribed connection can do nothing else: the hub gets its own.
  const subscriberConnection = createWorkerConnection(config.redisUrl);
  const hub = new ReportUpdatesHub(subscriberConnection, `${config.queuePrefix}:report:updates`, logger);
  await hub.start();

  // Sending reports to the PACS (REPORT_PACS_STOW_URL): the queue for the API, the worker here.
  let pacsQueue: Queue<PacsExportJob> | undefined;
  let pacsExports: PacsExportQueue | undefined;
  let pacsWorker: ReportWorkersDeps['pacs'];
  if (config.pacs.stowUrl) {
    pacsQueue = openQueue(QUEUES.pacsExport, { connection: requestConnection, prefix: config.queuePrefix });
    // The queue also feeds the gauges of exports held for the PACS (read at scrape time).
    const pacsMetrics = createPacsExportMetrics(metrics.registry, { queue: pacsQueue });
    pacsWorker = {
      config,
      service: createReportService({ reports: consumerReports, signUrl: (path) => auth.signUrl(path), publicUrl: config.publicUrl, buckets: config.buckets }),
      stow: new StowClient({ baseUrl: config.pacs.stowUrl, authorization: config.pacs.authorization }),
      metrics: pacsMetrics,
    };
    pacsExports = new PacsExportQueue({ queue: pacsQueue, sendOnSign: config.pacs.sendOnSign, logger, metrics: pacsMetrics });
    logger.info({ sendOnSign: config.pacs.sendOnSign, maxHoldHours: config.pacs.maxHoldHours, objects: config.pacs.objects }, 'sending reports to the PACS over STOW-RS');
  }
  // DICOM text SRs from ingest (queue final-reports): compared on the worker connection.
  const workerSecondRead = createSecondReadService({
    reports: consumerReports,
    store: new SecondReadStore({ objects, redis: workerConnection, bucket: config.buckets.reports, keyPrefix: config.queuePrefix }),
    metrics: metrics.secondRead,
    signUrl: (path) => auth.signUrl(path),
    publicUrl: config.publicUrl,
    logger,
  });
  const workers = initWorkers({
    config, logger, connection: workerConnection, objects, reports: consumerReports, metrics, secondRead: workerSecondRead, monitor: consumerMonitor, ...(pacsWorker ? { pacs: pacsWorker } : {}),
  });
  const secondRead = createSecondReadService({
    reports: apiReports,
    store: new SecondReadStore({ objects, redis: requestConnection, bucket: config.buckets.reports, keyPrefix: config.queuePrefix }),
    metrics: metrics.secondRead,
    signUrl: (path) => auth.signUrl(path),
    publicUrl: config.publicUrl,
    logger,
  });
  const app = createApp({ config, logger, objects, reports: apiReports, redis: requestConnection, metrics, auth, hub, secondRead,
    monitor: { monitor: apiMonitor, defaultWindowMs: config.monitoring.driftWindowMs }, ...(pacsExports ? { pacsExports } : {}) });
  const server = createServer(app);
  server.listen(config.http.port, config.http.host);
  await once(server, 'listening');
  logger.info({ host: config.http.host, port: config.http.port, publicUrl: config.publicUrl }, 'report service listening');
  // REPORT_HL7_PORT: ORU^R01 final reports over MLLP.
  const hl7 = config.secondRead.hl7 ? createHl7Listener({ service: secondRead, logger, metrics: metrics.secondRead, options: config.secondRead.hl7 }) : undefined;
  if (hl7) {
    const address = await hl7.listen();
    logger.info({ host: address.host, port: address.port, maxMessageBytes: config.secondRead.hl7!.maxMessageBytes }, 'HL7 MLLP listener for final reports');
  }

  let stopping = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Event streams never end by themselves: end them (clients reconnect to another replica).
    await hub.close();
    await Promise.allSettled([closed, hl7?.close(), closeWorkers(workers), pacsQueue?.close()]);
    await Promise.allSettled([workerConnection.quit(), requestConnection.quit(), subscriberConnection.quit()]);
    await tracing.shutdown().catch(() => undefined); // sends the spans still buffered
    logger.info('stopped');
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown(signal).then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: errorMessage(error) }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
}

main().catch((error: unknown) => {
  // Config errors name the setting; nothing here holds patient data.
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
