/**
 * Uploads a model package to the model registry bucket.
 *
 *   npm run model:publish -- <package dir> [--bucket cxr-models] [--prefix path/] [--force] [--activate]
 *
 * Storage settings come from the shared environment (S3_ENDPOINT, S3_ACCESS_KEY, ...). `--activate`
 * then sets the Redis key `{QUEUE_PREFIX}:worker:model` (REDIS_URL) to the published id@version, so
 * running workers switch to it (see services/inference-worker/README.md).
 */
import { parseArgs } from 'node:util';
import { ObjectStore, createWorkerConnection, parseEnv, sharedEnvSchema, toSharedConfig } from '@cxr/platform';
import { modelKey } from '../models/model-key-watcher.ts';
import { formatModelRef, parseModelSource } from '../models/model-ref.ts';
import { publishModelPackage } from '../models/model-publisher.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    bucket: { type: 'string', default: 'cxr-models' },
    prefix: { type: 'string', default: '' },
    force: { type: 'boolean', default: false },
    activate: { type: 'boolean', default: false },
  },
});
if (positionals.length !== 1) {
  console.error('usage: npm run model:publish -- <package dir> [--bucket cxr-models] [--prefix path/] [--force] [--activate]');
  process.exit(2);
}

const config = toSharedConfig(parseEnv(sharedEnvSchema, process.env));
const target = parseModelSource(`s3://${values.bucket}/${values.prefix}`);
if (target.kind !== 's3') throw new Error('unreachable');
try {
  const objects = new ObjectStore(config.s3);
  const { ref, outcome, keys } = await publishModelPackage(positionals[0]!, { objects, target, force: values.force });
  const where = `s3://${target.bucket}/${target.prefix}${ref.id}/${ref.version}/`;
  console.log(outcome === 'already-published' ? `${formatModelRef(ref)} is already published at ${where}` : `${outcome} ${formatModelRef(ref)} at ${where} (${keys.length} objects)`);
  if (values.activate) {
    const redis = createWorkerConnection(config.redisUrl); // queues the SET until connected
    await redis.set(modelKey(config.queuePrefix), formatModelRef(ref));
    await redis.quit();
    console.log(`set ${modelKey(config.queuePrefix)} = ${formatModelRef(ref)}: workers reading ${where.split(ref.id)[0]} switch to it`);
  }
} catch (error) {
  console.error(`model:publish: ${(error as Error).message}`);
  process.exit(1);
}
// The storage client's keep-alive sockets would hold the process open for a while.
process.exit(0);
