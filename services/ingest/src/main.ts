import { createLogger, initTracing } from '@cxr/platform';
import { loadConfig } from './config.ts';
import { createIngestService } from './service.ts';

const config = loadConfig(process.env);
const tracing = initTracing('ingest', config.tracing);
const logger = createLogger('ingest', config.logLevel);
if (config.stow.apiKeys.size === 0 && !config.stow.requireAuth) {
  logger.warn('INGEST_STOW_API_KEYS is empty and INGEST_STOW_REQUIRE_AUTH is off: STOW-RS accepts unauthenticated requests (local runs only)');
}
const service = createIngestService(config, logger);
const { dimse, http } = await service.start();
logger.info({ dimse: `${config.dimse.aeTitle}@${dimse.host}:${dimse.port}`, http: `http://${http.host}:${http.port}` }, 'ingest listening');

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    service.stop().then(
      // Spans still buffered are sent before exit (bounded by the exporter's timeout).
      () => tracing.shutdown().finally(() => process.exit(0)),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      },
    );
  });
}
