import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, startRedisServer, startS3Server, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { referenceModelDir } from '@cxr/model-reference-cxr';
import { ObjectStore, createWorkerConnection, type Redis } from '@cxr/platform';
import { phantomEvaluator } from '../cli/phantom-evaluator.ts';
import { ActivationRefusedError, activateModel } from './model-activation.ts';
import { modelKey } from './model-key-watcher.ts';
import { formatModelRef, parseModelSource, type ModelRef } from './model-ref.ts';
import { publishModelPackage } from './model-publisher.ts';
import { readModelAudit, type PublishEvaluator } from './publish-gate.ts';

// `model:publish --activate --evaluate` against a real s3rver and redis-server, with the real
// phantom evaluation: the running version is fetched from the bucket and evaluated beside the new one.
const bucket = `models-activation-${process.pid}`;
const target = parseModelSource(`s3://${bucket}/registry/`) as Extract<ReturnType<typeof parseModelSource>, { kind: 's3' }>;
const prefix = `activation-${process.pid}`;
const DATASET = 'phantoms:9500000:32';
let dir: string;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let objects: ObjectStore;
let connection: Redis;

// Each package is evaluated once however often the gate asks: the same weights and labels give the
// same figures whatever the version string (kept out of the key), which keeps the test short.
const seen = new Map<string, Awaited<ReturnType<PublishEvaluator>>>();
const evaluator: PublishEvaluator = async (modelDir, dataset) => {
  const { version: _version, ...rest } = JSON.parse(await readFile(join(modelDir, 'manifest.json'), 'utf8')) as Record<string, unknown>;
  const key = `${JSON.stringify(rest.labels)}|${JSON.stringify(rest.files)}|${dataset}`;
  if (!seen.has(key)) seen.set(key, await phantomEvaluator(modelDir, dataset));
  return seen.get(key)!;
};

/** The reference package as `version`; `scramble` swaps its label codes, so each output is read as another finding (a worse model). */
async function packageVersion(version: string, scramble = false): Promise<{ dir: string; ref: ModelRef }> {
  const out = join(dir, `pkg-${version}`);
  await cp(referenceModelDir, out, { recursive: true, filter: (path) => !path.includes('training') && !path.includes('/src') });
  const manifest = JSON.parse(await readFile(join(out, 'manifest.json'), 'utf8'));
  manifest.version = version;
  if (scramble) {
    const codes = manifest.labels.map((l: { code: string }) => l.code);
    manifest.labels.forEach((l: { code: string }, i: number) => (l.code = codes[(i + 1) % codes.length]));
    delete manifest.validation;
  }
  await writeFile(join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { dir: out, ref: { id: manifest.id, version } };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'model-activation-'));
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: [], reset: true });
  objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
  connection = createWorkerConnection(redis.url);
}, 60_000);

afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('activating a published version', () => {
  test('activates an evaluated version no worse than the running one, refuses a worse one, and lets --force override; each is audited', async () => {
    const running = await packageVersion('1.0.0');
    await publishModelPackage(running.dir, { objects, target });
    await activateModel({ ref: running.ref, dir: running.dir, target, queuePrefix: prefix, force: false, by: 'ops' }, { objects, redis: connection });
    expect(await connection.get(modelKey(prefix))).toBe('reference-cxr@1.0.0');

    // Same weights, new version: same AUCs, so it passes.
    const same = await packageVersion('1.0.1');
    await publishModelPackage(same.dir, { objects, target });
    const passed = await activateModel(
      { ref: same.ref, dir: same.dir, target, queuePrefix: prefix, force: false, evaluate: { dataset: DATASET, evaluator, margin: 0.02 } },
      { objects, redis: connection },
    );
    expect(passed.decision!.passed).toBe(true);
    expect(passed.decision!.findings.every((f) => f.running !== null && f.drop === 0)).toBe(true);
    expect(await connection.get(modelKey(prefix))).toBe('reference-cxr@1.0.1');

    // A worse version is refused: published, but the workers stay on the running one.
    const worse = await packageVersion('1.1.0', true);
    await publishModelPackage(worse.dir, { objects, target });
    const options = { ref: worse.ref, dir: worse.dir, target, queuePrefix: prefix, evaluate: { dataset: DATASET, evaluator, margin: 0.02 } };
    const refusal = await activateModel({ ...options, force: false }, { objects, redis: connection }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ActivationRefusedError);
    expect((refusal as ActivationRefusedError).message).toMatch(/worse than the running one by more than 0\.02 AUC/);
    expect(await connection.get(modelKey(prefix))).toBe('reference-cxr@1.0.1');

    // --force activates it anyway, and says so in the audit trail.
    const forced = await activateModel({ ...options, force: true, by: 'dr-ops' }, { objects, redis: connection });
    expect(forced.activated).toBe(true);
    expect(await connection.get(modelKey(prefix))).toBe(formatModelRef(worse.ref));

    const audit = await readModelAudit(objects, target);
    expect(audit.map((e) => [e.action, e.model, e.previous])).toEqual([
      ['activate', 'reference-cxr@1.0.0', null],
      ['activate', 'reference-cxr@1.0.1', 'reference-cxr@1.0.0'],
      ['activation-refused', 'reference-cxr@1.1.0', 'reference-cxr@1.0.1'],
      ['activate-forced', 'reference-cxr@1.1.0', 'reference-cxr@1.0.1'],
    ]);
    expect(audit[3]!.by).toBe('dr-ops');
    expect(audit[3]!.detail).toMatch(/with --force although worse: .*AUC .* vs running/);
    expect(audit[2]!.evaluation!.decision.reasons.length).toBeGreaterThan(0);
  }, 240_000);
});
