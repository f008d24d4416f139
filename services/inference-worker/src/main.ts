import { createLogger, initTracing } from '@cxr/platform';
import { loadConfig } from './config.ts';
import { createWorkerService } from './service.ts';

const config = loadConfig(process.env);
const tracing = initTracing('inference-worker', config.tracing);
const logger = createLogger('inference-worker', config.logLevel);
const service = createWorkerService(config, logger, {
  onFatal() {
    logger.error('exiting: the orchestrator starts a fresh worker');
    process.exit(1);
  },
});
const { http, model } = await service.start();
logger.info({ http: `http://${http.host}:${http.port}`, concurrency: config.concurrency, model }, 'inference worker ready');

process.on('SIGHUP', () => {
  logger.info('SIGHUP');
  void service.reloadModel();
});

let stopping = false;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, graceMs: config.shutdownGraceMs }, 'shutting down');
    service
      .stop()
      .then(async () => {
        await tracing.shutdown().catch(() => undefined); // sends the spans still buffered
        process.exit(0);
      })
      .catch((error: unknown) => {
        logger.error({ err: error }, 'unclean shutdown');
        process.exit(1);
      });
  });
}
