import { createLogger, createRequestConnection, ObjectStore } from '@cxr/platform';
import { loadConfig } from '../config.ts';
import { SecondReadStore } from '../second-read/second-read-store.ts';
import { ModelMonitor } from '../monitoring/model-monitor.ts';
import { reindexReports } from '../state/reindex.ts';
import { ReportStore } from '../state/report-store.ts';

/**
 * `npm run reindex`: rebuilds the report service's Redis index from the reports bucket (after
 * Redis lost its data, or after an upgrade that changed the index). Safe to run while the
 * service runs. Prints the counts as JSON; exits 1 if any study failed.
 */
async function main(): Promise<number> {
  const config = loadConfig(process.env);
  const logger = createLogger('report-reindex', config.logLevel);
  const redis = createRequestConnection(config.redisUrl);
  try {
    const reports = new ReportStore({
      objects: new ObjectStore(config.s3),
      redis,
      bucket: config.buckets.reports,
      keyPrefix: config.queuePrefix,
      urgentFindings: config.urgentFindings,
    });
    const secondRead = new SecondReadStore({ objects: new ObjectStore(config.s3), redis, bucket: config.buckets.reports, keyPrefix: config.queuePrefix });
    // The model-monitoring counts are rebuilt as well (drafts and signatures; each counted once).
    const monitor = new ModelMonitor({ redis, queuePrefix: config.queuePrefix, retentionDays: config.monitoring.retentionDays, limits: config.monitoring.limits });
    const result = await reindexReports({ reports, secondRead, logger, monitor });
    console.log(JSON.stringify(result));
    return result.failed === 0 ? 0 : 1;
  } finally {
    await redis.quit().catch(() => undefined);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  },
);
