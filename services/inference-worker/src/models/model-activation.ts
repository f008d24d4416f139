// `model:publish --activate`: switching the workers to a published version (the Redis model key),
// checked first when `--evaluate` is given (publish-gate.ts), and audited either way.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore, Redis } from '@cxr/platform';
import { modelKey } from './model-key-watcher.ts';
import { formatModelRef, parseModelRef, type ModelRef, type ModelSource } from './model-ref.ts';
import { resolveModelPackage } from './model-store.ts';
import { compareEvaluations, operator, writeModelAudit, type GateDecision, type ModelAuditEntry, type PublishEvaluator } from './publish-gate.ts';

export interface ActivationOptions {
  /** The version just published, and its package directory (what was uploaded). */
  ref: ModelRef;
  dir: string;
  target: Extract<ModelSource, { kind: 's3' }>;
  queuePrefix: string;
  /** `--evaluate <dataset>`: compare with the running version on it first. */
  evaluate?: { dataset: string; evaluator: PublishEvaluator; margin: number };
  /**
   * The package of the running version when the Redis key names none (workers started on
   * WORKER_MODEL / WORKER_MODEL_DIR): a directory. Ignored when the key is set.
   */
  runningDir?: string;
  force: boolean;
  by?: string;
  now?: () => Date;
}

export interface ActivationOutcome {
  activated: boolean;
  previous: string | null;
  decision: GateDecision | null;
  auditKey: string;
}

export class ActivationRefusedError extends Error {
  constructor(readonly outcome: ActivationOutcome) {
    super(`activation refused: the new version is worse than the running one by more than ${outcome.decision!.margin} AUC on ${outcome.decision!.reasons.join('; ')} (published, not activated; --force overrides, and is audited)`);
    this.name = 'ActivationRefusedError';
  }
}

export async function activateModel(options: ActivationOptions, deps: { objects: ObjectStore; redis: Redis }): Promise<ActivationOutcome> {
  const { ref, target, queuePrefix, force } = options;
  const now = options.now ?? (() => new Date());
  const name = formatModelRef(ref);
  const previous = await deps.redis.get(modelKey(queuePrefix));
  let evaluation: ModelAuditEntry['evaluation'] = null;
  let decision: GateDecision | null = null;

  if (options.evaluate) {
    const { dataset, evaluator, margin } = options.evaluate;
    const runningDir = previous && previous !== name ? await runningPackage(previous, target, deps.objects) : previous === name ? null : (options.runningDir ?? null);
    const candidate = await evaluator(options.dir, dataset);
    const running = runningDir ? await evaluator(runningDir, dataset) : null;
    decision = compareEvaluations(candidate, running, margin);
    evaluation = { dataset: candidate.dataset, candidate, running, decision };
  }

  const refused = decision !== null && !decision.passed;
  const action: ModelAuditEntry['action'] = refused ? (force ? 'activate-forced' : 'activation-refused') : 'activate';
  const who = operator(options.by);
  const entry: ModelAuditEntry = {
    at: now().toISOString(),
    action,
    model: name,
    previous,
    ...who,
    evaluation,
    detail: describe(action, name, previous, decision),
  };
  // The entry goes first: no switch without its record.
  const auditKey = await writeModelAudit(deps.objects, target, entry);
  const outcome: ActivationOutcome = { activated: !refused || force, previous, decision, auditKey };
  if (refused && !force) throw new ActivationRefusedError(outcome);
  await deps.redis.set(modelKey(queuePrefix), name);
  return outcome;
}

/** The running version's package, fetched from the registry bucket into a temporary cache. */
async function runningPackage(previous: string, target: Extract<ModelSource, { kind: 's3' }>, objects: ObjectStore): Promise<string> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'cxr-publish-running-'));
  return resolveModelPackage(parseModelRef(previous), { source: target, cacheDir, objects });
}

function describe(action: ModelAuditEntry['action'], name: string, previous: string | null, decision: GateDecision | null): string {
  const from = previous ? ` (was ${previous})` : '';
  const checked = decision === null ? 'without an evaluation' : decision.findings.every((f) => f.running === null) ? 'evaluated, no running version to compare with' : `evaluated against the running version (margin ${decision.margin} AUC)`;
  switch (action) {
    case 'activate':
      return `activated ${name}${from}, ${checked}`;
    case 'activate-forced':
      return `activated ${name}${from} with --force although worse: ${decision!.reasons.join('; ')}`;
    case 'activation-refused':
      return `refused to activate ${name}${from}: ${decision!.reasons.join('; ')}`;
    case 'publish':
      return `published ${name}`;
  }
}
