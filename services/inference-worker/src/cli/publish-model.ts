/**
 * Uploads a model package to the model registry bucket, and optionally switches the workers to it.
 *
 *   npm run model:publish -- <package dir> [--bucket cxr-models] [--prefix path/] [--force] [--activate]
 *                              [--evaluate phantoms:SEED:COUNT | --evaluate <dicom folder> (--labels <csv> | --reports <folder>)]
 *                              [--margin 0.02] [--running <package dir>] [--by <name>]
 *
 * Storage settings come from the shared environment (S3_ENDPOINT, S3_ACCESS_KEY, ...). `--activate`
 * then sets the Redis key `{QUEUE_PREFIX}:worker:model` (REDIS_URL) to the published id@version, so
 * running workers switch to it (see services/inference-worker/README.md). With `--evaluate`, the new
 * version and the running one are evaluated on the set first (phantoms, or the site's own folder of
 * DICOM studies with a labels CSV or a folder of reports, through the local-dataset evaluation)
 * and `--activate` is refused when the new one's AUC is lower by more than `--margin` (MODEL_PUBLISH_AUC_MARGIN, default 0.02) on any
 * finding. `--force` replaces a published version with different content and activates a worse
 * one; every activation, refusal and override is written to `{prefix}_audit/` in the bucket.
 */
import { parseArgs } from 'node:util';
import { ObjectStore, createWorkerConnection, parseEnv, sharedEnvSchema, toSharedConfig } from '@cxr/platform';
import { ActivationRefusedError, activateModel } from '../models/model-activation.ts';
import { modelKey } from '../models/model-key-watcher.ts';
import { formatModelRef, parseModelSource } from '../models/model-ref.ts';
import { publishModelPackage } from '../models/model-publisher.ts';
import { operator, writeModelAudit } from '../models/publish-gate.ts';
import { checkDatasetSpec } from './dataset-spec.ts';

const USAGE = 'usage: npm run model:publish -- <package dir> [--bucket cxr-models] [--prefix path/] [--force] [--activate] [--evaluate phantoms:SEED:COUNT | --evaluate <dicom folder> --labels <csv> | --reports <folder>] [--margin 0.02] [--running <dir>] [--by <name>]';
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    bucket: { type: 'string', default: 'cxr-models' },
    prefix: { type: 'string', default: '' },
    force: { type: 'boolean', default: false },
    activate: { type: 'boolean', default: false },
    evaluate: { type: 'string' },
    labels: { type: 'string' },
    reports: { type: 'string' },
    margin: { type: 'string' },
    running: { type: 'string' },
    by: { type: 'string' },
  },
});
if (positionals.length !== 1) {
  console.error(USAGE);
  process.exit(2);
}
const marginText = values.margin ?? process.env.MODEL_PUBLISH_AUC_MARGIN ?? '0.02';
const margin = Number(marginText);
if (!/^\d*\.?\d+$/.test(marginText) || !(margin >= 0 && margin < 1)) {
  console.error(`--margin / MODEL_PUBLISH_AUC_MARGIN: expected an AUC difference in [0, 1), got ${JSON.stringify(marginText)}`);
  process.exit(2);
}
const truth = { ...(values.labels !== undefined ? { labelsCsv: values.labels } : {}), ...(values.reports !== undefined ? { reportsDir: values.reports } : {}) };
if (values.evaluate === undefined && (values.labels !== undefined || values.reports !== undefined)) {
  console.error('model:publish: --labels / --reports name the truth of an --evaluate folder; pass --evaluate <dicom folder> as well');
  process.exit(2);
}
if (values.evaluate !== undefined) {
  try {
    checkDatasetSpec(values.evaluate, truth); // before anything is uploaded
  } catch (error) {
    console.error(`model:publish: ${(error as Error).message}`);
    process.exit(2);
  }
}

const config = toSharedConfig(parseEnv(sharedEnvSchema, process.env));
const target = parseModelSource(`s3://${values.bucket}/${values.prefix}`);
if (target.kind !== 's3') throw new Error('unreachable');
const dir = positionals[0]!;
try {
  const objects = new ObjectStore(config.s3);
  const { ref, outcome, keys } = await publishModelPackage(dir, { objects, target, force: values.force });
  const where = `s3://${target.bucket}/${target.prefix}${ref.id}/${ref.version}/`;
  console.log(outcome === 'already-published' ? `${formatModelRef(ref)} is already published at ${where}` : `${outcome} ${formatModelRef(ref)} at ${where} (${keys.length} objects)`);
  if (outcome === 'replaced') {
    await writeModelAudit(objects, target, { at: new Date().toISOString(), action: 'publish', model: formatModelRef(ref), previous: null, ...operator(values.by), evaluation: null, detail: `replaced the published content of ${formatModelRef(ref)} with --force` });
  }
  if (values.activate) {
    const redis = createWorkerConnection(config.redisUrl); // queues commands until connected
    try {
      const activation = await activateModel(
        {
          ref, dir, target, queuePrefix: config.queuePrefix, force: values.force,
          // Loaded only when asked for: the evaluation harness is not in the worker's production image.
          ...(values.evaluate !== undefined ? { evaluate: { dataset: values.evaluate, evaluator: (await import('./dataset-evaluator.ts')).datasetEvaluator(truth), margin } } : {}),
          ...(values.running ? { runningDir: values.running } : {}),
          ...(values.by ? { by: values.by } : {}),
        },
        { objects, redis },
      );
      for (const f of activation.decision?.findings ?? []) {
        console.log(`  ${f.code}: AUC ${f.candidate?.toFixed(3) ?? '—'} (running ${f.running?.toFixed(3) ?? '—'})${f.worse ? '  WORSE' : ''}`);
      }
      if (activation.decision && !activation.decision.passed) console.warn(`activating although worse (--force): ${activation.decision.reasons.join('; ')}`);
      console.log(`set ${modelKey(config.queuePrefix)} = ${formatModelRef(ref)}${activation.previous ? ` (was ${activation.previous})` : ''}: workers reading ${where.split(ref.id)[0]} switch to it; audit entry s3://${target.bucket}/${activation.auditKey}`);
    } finally {
      await redis.quit();
    }
  } else if (values.evaluate !== undefined) {
    console.log('--evaluate checks an activation: pass --activate as well (nothing was evaluated)');
  }
} catch (error) {
  if (error instanceof ActivationRefusedError) {
    for (const f of error.outcome.decision!.findings) console.error(`  ${f.code}: AUC ${f.candidate?.toFixed(3) ?? '—'} (running ${f.running?.toFixed(3) ?? '—'})${f.worse ? '  WORSE' : ''}`);
    console.error(`model:publish: ${error.message}; audit entry ${error.outcome.auditKey}`);
    process.exit(3);
  }
  console.error(`model:publish: ${(error as Error).message}`);
  process.exit(1);
}
// The storage client's keep-alive sockets would hold the process open for a while.
process.exit(0);
