import {
  modelPerformanceResponseSchema,
  modelScopeKey,
  modelValidationKey,
  publishedModelScopeSchema,
  publishedModelValidationSchema,
  type ModelPerformanceResponse,
  type ModelValidation,
} from '@cxr/contracts';
import type { Redis } from '@cxr/platform';
import type { ReportDraft } from '../drafts/report-draft.ts';
import type { ReportRevision } from '../state/report-state.ts';
import { modelVersionPerformance, type DriftLimits } from './drift.ts';
import type { ModelMonitoringMetrics } from './monitoring-metrics.ts';
import { analysisCounts, outputsOfDraft, receivedCounts, reviewCounts, reviewOutcome, shadowCounts, type AnalysisOutputs } from './performance-fields.ts';
import { MAX_WINDOW_MS, PerformanceStore, type ModelRole } from './performance-store.ts';

/**
 * Live monitoring of the model versions (issue "know how the model does here"): records what each
 * AI draft, study arrival, signed report and shadow result says about its model version, and
 * reports it per version and finding over a window with the drift checks (drift.ts). The counts
 * are in Redis (performance-store.ts); the validation figures come from the worker
 * (`modelValidationKey`, from the package manifest).
 */

export interface ModelMonitorDeps {
  redis: Redis;
  queuePrefix: string;
  retentionDays: number;
  limits: DriftLimits;
  metrics?: ModelMonitoringMetrics;
  now?: () => Date;
}

export const MONITORING_NOTICE =
  'Counts of what the model said on this site\'s studies and what radiologists decided when signing. Agreement is with the signing radiologist, not ground truth; the shipped reference model is trained on synthetic phantoms and says nothing of clinical accuracy.';

export class ModelMonitor {
  readonly store: PerformanceStore;
  private readonly now: () => Date;

  constructor(private readonly deps: ModelMonitorDeps) {
    this.now = deps.now ?? (() => new Date());
    this.store = new PerformanceStore({ redis: deps.redis, keyPrefix: deps.queuePrefix, retentionDays: deps.retentionDays, now: this.now });
  }

  get metrics(): ModelMonitoringMetrics | undefined {
    return this.deps.metrics;
  }

  get limits(): DriftLimits {
    return this.deps.limits;
  }

  /** An AI draft was made (or found made, on a retried event): its model's calls and probabilities. */
  async recordDraft(draft: ReportDraft, completedAt: string): Promise<boolean> {
    const model = modelOf(draft.model);
    const outputs = outputsOfDraft(draft);
    const applied = await this.store.record(`analysis:${draft.analysisId}`, 'active', model, new Date(completedAt), analysisCounts(outputs));
    if (applied) this.deps.metrics?.observeAnalysis('active', model, outputs);
    return applied;
  }

  /** A study version arrived; ingest decided its eligibility by the scope the worker published (its model is credited). */
  async recordReceived(studyKey: string, version: number, eligible: boolean, receivedAt: string): Promise<boolean> {
    const model = await this.publishedModel();
    const applied = await this.store.record(`received:${studyKey}.v${version}`, 'active', model, new Date(receivedAt), receivedCounts(eligible));
    if (applied) this.deps.metrics?.studiesReceived.inc({ model, eligibility: eligible ? 'eligible' : 'not-eligible' });
    return applied;
  }

  /** A report was signed: the decisions on the AI's positive findings, and the findings the radiologist added in the text. */
  async recordSigned(revision: ReportRevision): Promise<boolean> {
    if (!revision.signature) throw new Error('recordSigned takes a signed revision');
    const model = modelOf(revision.draft.model);
    const outcome = reviewOutcome(revision);
    const applied = await this.store.record(`signed:${revision.studyKey}`, 'active', model, new Date(revision.signature.signedAt), reviewCounts(outcome));
    if (applied) {
      for (const d of outcome.decisions) this.deps.metrics?.reviews.inc({ model, finding: d.code, outcome: d.decision });
      for (const code of outcome.added) this.deps.metrics?.reviews.inc({ model, finding: code, outcome: 'added' });
    }
    return applied;
  }

  /** A shadow version's result on a study, beside the active version's on the same study version. */
  async recordShadow(analysisId: string, shadowModel: string, activeModel: string, completedAt: string, shadow: AnalysisOutputs, active: AnalysisOutputs): Promise<boolean> {
    const at = new Date(completedAt);
    const counts = analysisCounts(shadow);
    for (const [field, n] of shadowCounts(activeModel, active, shadow)) counts.set(field, n);
    const applied = await this.store.record(`shadow:${shadowModel}:${analysisId}`, 'shadow', shadowModel, at, counts);
    if (applied) this.deps.metrics?.observeAnalysis('shadow', shadowModel, shadow);
    return applied;
  }

  /** The report over [since, until) for every version recorded. */
  async report(window: { since: Date; until: Date }): Promise<ModelPerformanceResponse> {
    const { since, until } = window;
    const length = until.getTime() - since.getTime();
    if (!(length > 0) || length > MAX_WINDOW_MS) throw new RangeError(`the window must be longer than 0 and at most ${MAX_WINDOW_MS / 86_400_000} days`);
    const previousSince = new Date(since.getTime() - length);
    const models = await this.store.models();
    const validations = await this.validations([...new Set(models.map((m) => m.model))]);
    const versions = await Promise.all(
      models.map(async ({ role, model }) => {
        const [fields, previous] = await Promise.all([this.store.sum(role, model, since, until), this.store.sum(role, model, previousSince, since)]);
        return { role, model, fields, previous };
      }),
    );
    return modelPerformanceResponseSchema.parse({
      window: { since: since.toISOString(), until: until.toISOString() },
      limits: { ...this.deps.limits },
      // Versions with nothing in the window are left out.
      models: versions
        .filter((v) => v.fields.size > 0)
        .map((v) => modelVersionPerformance(v.role as ModelRole, v.model, v.fields, v.previous, validations.get(v.model) ?? null, this.deps.limits)),
      notice: MONITORING_NOTICE,
    });
  }

  /** The report over the last `windowMs` up to now. */
  reportLast(windowMs: number): Promise<ModelPerformanceResponse> {
    const until = this.now();
    return this.report({ since: new Date(until.getTime() - windowMs), until });
  }

  private async validations(models: string[]): Promise<Map<string, ModelValidation>> {
    const found = new Map<string, ModelValidation>();
    if (models.length === 0) return found;
    const raw = await this.deps.redis.mget(...models.map((m) => modelValidationKey(this.deps.queuePrefix, m)));
    raw.forEach((value, i) => {
      if (value === null) return;
      const parsed = publishedModelValidationSchema.safeParse(safeJson(value));
      if (parsed.success && parsed.data.validation) found.set(models[i]!, parsed.data.validation);
    });
    return found;
  }

  /** The model whose scope the worker published (the one ingest judged eligibility by), or `unknown`. */
  private async publishedModel(): Promise<string> {
    const raw = await this.deps.redis.get(modelScopeKey(this.deps.queuePrefix));
    const parsed = raw === null ? null : publishedModelScopeSchema.safeParse(safeJson(raw));
    return parsed?.success ? parsed.data.model : 'unknown';
  }
}

const modelOf = (model: { id: string; version: string }): string => `${model.id}@${model.version}`;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
