// The check `npm run model:publish -- <dir> --evaluate <dataset> --activate` makes before it
// switches the workers: the new version and the running one are evaluated on the same labelled set,
// and activation is refused when the new one's AUC is lower than the running one's by more than
// the margin on any finding (`--force` overrides). Every activation, refusal and override is an
// audit entry object in the registry bucket.
//
// The evaluation itself comes in through `PublishEvaluator`, so the CLI can use whichever
// evaluation the deployment has: the phantom evaluation of models/evaluation
// (`phantoms:SEED:COUNT`) or the local-dataset evaluation of a site's own folder (`evaluateDataset`),
// both behind cli/dataset-evaluator.ts.
import { hostname, userInfo } from 'node:os';
import type { ObjectStore } from '@cxr/platform';
import type { ModelSource } from './model-ref.ts';

/** One package's figures on the set: AUC per finding (what the gate compares), and how many cases it is over. */
export interface DatasetEvaluation {
  /** What the set was, in words (goes into the audit entry). */
  dataset: string;
  perFinding: Record<string, { auc: number; count?: number }>;
}

/** Evaluates the package in `modelDir` on `dataset` (a spec the evaluator understands). */
export type PublishEvaluator = (modelDir: string, dataset: string) => Promise<DatasetEvaluation>;

export interface FindingComparison {
  code: string;
  candidate: number | null;
  running: number | null;
  /** running − candidate (positive: the new version is worse). */
  drop: number | null;
  worse: boolean;
}

export interface GateDecision {
  /** True when no finding is worse by more than the margin (or there is no running version to compare with). */
  passed: boolean;
  margin: number;
  findings: FindingComparison[];
  /** Sentences naming the findings that failed. */
  reasons: string[];
}

/**
 * Compares the candidate's AUCs with the running version's, finding by finding. A finding the
 * running version is evaluated on and the candidate is not (it dropped a label) counts as worse.
 */
export function compareEvaluations(candidate: DatasetEvaluation, running: DatasetEvaluation | null, margin: number): GateDecision {
  if (!(margin >= 0 && margin < 1)) throw new RangeError('the margin must be in [0, 1)');
  if (!running) {
    const findings = Object.entries(candidate.perFinding).map(([code, f]) => ({ code, candidate: f.auc, running: null, drop: null, worse: false }));
    return { passed: true, margin, findings, reasons: [] };
  }
  const codes = [...new Set([...Object.keys(running.perFinding), ...Object.keys(candidate.perFinding)])].sort();
  const findings = codes.map((code): FindingComparison => {
    const c = candidate.perFinding[code]?.auc ?? null;
    const r = running.perFinding[code]?.auc ?? null;
    if (r === null || !Number.isFinite(r)) return { code, candidate: c, running: r, drop: null, worse: false };
    if (c === null || !Number.isFinite(c)) return { code, candidate: c, running: r, drop: null, worse: true };
    const drop = r - c;
    return { code, candidate: c, running: r, drop, worse: drop > margin };
  });
  const reasons = findings
    .filter((f) => f.worse)
    .map((f) => (f.drop === null ? `${f.code}: the new version has no AUC (running ${f.running!.toFixed(3)})` : `${f.code}: AUC ${f.candidate!.toFixed(3)} vs running ${f.running!.toFixed(3)} (${f.drop.toFixed(3)} worse, margin ${margin})`));
  return { passed: reasons.length === 0, margin, findings, reasons };
}

export type ModelAuditAction = 'activate' | 'activate-forced' | 'activation-refused' | 'publish';

export interface ModelAuditEntry {
  at: string;
  action: ModelAuditAction;
  model: string;
  /** The version in service before (the Redis model key), or null when none was set. */
  previous: string | null;
  /** Who ran it: the operator's login on the host running the CLI (`--by` overrides). */
  by: string;
  host: string;
  evaluation: { dataset: string; candidate: DatasetEvaluation; running: DatasetEvaluation | null; decision: GateDecision } | null;
  detail: string;
}

/** Where audit entries go: `{prefix}_audit/{at}-{model}-{action}.json` in the registry bucket (append-only; `_` keeps it apart from model ids). */
export function modelAuditKey(target: Extract<ModelSource, { kind: 's3' }>, entry: Pick<ModelAuditEntry, 'at' | 'model' | 'action'>): string {
  return `${target.prefix}_audit/${entry.at.replace(/[:.]/g, '-')}-${entry.model}-${entry.action}.json`;
}

export async function writeModelAudit(objects: ObjectStore, target: Extract<ModelSource, { kind: 's3' }>, entry: ModelAuditEntry): Promise<string> {
  const key = modelAuditKey(target, entry);
  await objects.putJson(target.bucket, key, entry);
  return key;
}

/** Every audit entry under the registry prefix, oldest first. */
export async function readModelAudit(objects: ObjectStore, target: Extract<ModelSource, { kind: 's3' }>): Promise<ModelAuditEntry[]> {
  const keys = (await objects.list(target.bucket, `${target.prefix}_audit/`)).sort();
  return Promise.all(keys.map(async (key) => (await objects.getJson(target.bucket, key)) as ModelAuditEntry));
}

export function operator(by: string | undefined): { by: string; host: string } {
  let login = 'unknown';
  try {
    login = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  return { by: by?.trim() || login, host: hostname() };
}
