import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { QUEUES } from '@cxr/contracts';
import { createLogger, createRequestConnection, openQueue } from '@cxr/platform';
import { loadConfig } from '../config.ts';
import { Pseudonymizer } from '../privacy/pseudonym.ts';
import { InstanceStore } from '../storage/instance-store.ts';
import { OrphanSweep } from '../storage/orphan-sweep.ts';
import { ResilientObjectStore } from '../storage/resilient-object-store.ts';
import { CompletionReconciler } from '../studies/completion-reconciler.ts';
import { CompletionScheduler } from '../studies/completion-scheduler.ts';
import { StudyRegistry } from '../studies/study-registry.ts';

const USAGE = 'usage: npm run ingest:reconcile -- [--orphan-grace-minutes N (default 60)] [--dry-run]';

/**
 * `npm run ingest:reconcile`: settles the originals bucket with the index, with ingest's own
 * settings (REDIS_URL, S3_*, BUCKET_ORIGINALS, QUEUE_PREFIX, PSEUDONYM_SECRET). Orphans (stored,
 * never recorded) older than the grace age are recorded when they are the instance their key names,
 * else removed; then every study awaiting completion longer than INGEST_RECONCILE_GRACE_MS (the
 * orphans just recorded: at once) gets its completion scheduled. Safe to run while ingest runs and
 * to run again. Prints the counts as JSON; exits 1 if anything could not be settled.
 */
async function main(): Promise<number> {
  const { values } = parseArgs({ options: { 'orphan-grace-minutes': { type: 'string' }, 'dry-run': { type: 'boolean' } }, strict: true });
  const graceMinutes = values['orphan-grace-minutes'] === undefined ? 60 : Number(values['orphan-grace-minutes']);
  if (!Number.isFinite(graceMinutes) || graceMinutes < 0) throw new Error(`--orphan-grace-minutes: not a number of minutes. ${USAGE}`);
  const dryRun = values['dry-run'] === true;
  const config = loadConfig(process.env);
  const logger = createLogger('ingest-reconcile', config.logLevel);
  const redis = createRequestConnection(config.redisUrl);
  const queue = openQueue(QUEUES.studyCompletion, { connection: redis, prefix: config.queuePrefix });
  try {
    if (redis.status !== 'ready') await once(redis, 'ready');
    const objects = new ResilientObjectStore(config.s3, config.storage);
    const registry = new StudyRegistry(redis, config.queuePrefix, new Pseudonymizer(config.pseudonymSecret));
    const instances = new InstanceStore({ objects, bucket: config.buckets.originals, registry, logger, maxInstanceBytes: config.maxInstanceBytes });
    const sweep = new OrphanSweep({ objects, bucket: config.buckets.originals, registry, instances, logger, maxInstanceBytes: config.maxInstanceBytes });
    const scheduler = new CompletionScheduler(queue, config.studyStableMs, config.studyStableMs);
    const adopted = new Set<string>();
    const orphans = await sweep.sweep({ graceMs: graceMinutes * 60_000, dryRun, onRecorded: async (study) => void adopted.add(study) });
    let completionsScheduled = 0;
    if (!dryRun) {
      for (const study of adopted) await scheduler.reconciled(study);
      const reconciler = new CompletionReconciler({ registry, scheduler, logger, graceMs: config.reconcile.graceMs, intervalMs: config.reconcile.intervalMs });
      completionsScheduled = adopted.size + (await reconciler.reconcile());
    }
    console.log(JSON.stringify({ dryRun, orphans, completionsScheduled }));
    return orphans.failed === 0 ? 0 : 1;
  } finally {
    await queue.close().catch(() => undefined);
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
