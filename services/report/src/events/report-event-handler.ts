import {
  analysisResultSchema,
  findingHeatmapPng,
  objectKeys,
  type AnalysisCompletedEvent,
  type AnalysisFailedEvent,
  type AnalysisResult,
  type ReportEvent,
  type ShadowAnalysisCompletedEvent,
  type StudyReceivedEvent,
} from '@cxr/contracts';
import { errorMessage, isPermanent, PermanentError, withSpan, type Logger, type ObjectStore } from '@cxr/platform';
import { composeDraft, formatReportText } from '../drafts/compose-draft.ts';
import { comparisonSection, type PriorReport } from '../drafts/comparison-section.ts';
import { heatmapGeometry, type FindingGeometry } from '../drafts/finding-geometry.ts';
import { renderOverlay } from '../drafts/overlays.ts';
import type { DraftFinding, ReportDraft } from '../drafts/report-draft.ts';
import type { ReportMetrics } from '../metrics.ts';
import type { ModelMonitor } from '../monitoring/model-monitor.ts';
import { outputsOfResult } from '../monitoring/performance-fields.ts';
import {
  AI_DRAFT_AUTHOR,
  analysisCompletedIgnoredReason,
  applyAnalysisCompleted,
  applyAnalysisFailed,
  applyComparisonRecomposed,
  applyStudyReceived,
  applyUnusableResult,
  type AnalysisCompletedExtra,
  type IgnoredReason,
  type ReportState,
  type Transition,
} from '../state/report-state.ts';
import type { ReportStore } from '../state/report-store.ts';

/**
 * Applies one validated report event to the study's report state, and records AI drafts and
 * failed analyses in the audit trail. Safe to run twice: the state transitions recognise an
 * event already applied. Overlays are keyed by study, version and finding (a retry overwrites
 * them with the same pictures); revisions and audit entries are append-only, so a retry after a
 * crash between the revision and the state adds a revision the state never names (kept, unused).
 */

export type EventOutcome = 'applied' | IgnoredReason;

export class UnusableAnalysisResultError extends PermanentError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnusableAnalysisResultError';
  }
}

export interface ReportEventHandlerDeps {
  objects: ObjectStore;
  reports: ReportStore;
  derivedBucket: string;
  reportsBucket: string;
  logger: Logger;
  metrics: ReportMetrics;
  /** Longest a draft waits for a prior still being analysed (REPORT_PRIOR_WAIT_MS); default 30 s. */
  priorWaitMs?: number;
  /**
   * Model monitoring: every AI draft and study arrival is counted for its model version. Counting
   * runs after the commit and is idempotent, so a failure retries the event, which then finds it
   * already applied ('duplicate') and counts it.
   */
  monitor?: ModelMonitor;
  now?: () => Date;
}

const PRIOR_POLL_MS = 250;

export class ReportEventHandler {
  private readonly now: () => Date;

  constructor(private readonly deps: ReportEventHandlerDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async handle(event: ReportEvent): Promise<EventOutcome> {
    switch (event.type) {
      case 'study-received':
        return this.onStudyReceived(event);
      case 'analysis-completed':
        return this.onAnalysisCompleted(event);
      case 'analysis-failed':
        return this.onAnalysisFailed(event);
      case 'shadow-analysis-completed':
        return this.onShadowAnalysisCompleted(event);
    }
  }

  /**
   * A shadow version's result: compared with the active version's result of the same study
   * version and counted for monitoring. Never a draft, a revision or an audit entry: the report
   * does not change.
   */
  private async onShadowAnalysisCompleted(event: ShadowAnalysisCompletedEvent): Promise<EventOutcome> {
    const { monitor } = this.deps;
    if (!monitor) return 'applied';
    const load = async (key: string, what: string): Promise<AnalysisResult> => {
      const parsed = analysisResultSchema.safeParse(await this.deps.objects.getJson(this.deps.derivedBucket, key));
      if (!parsed.success) throw new UnusableAnalysisResultError(`${what} result does not match its schema`);
      if (parsed.data.studyKey !== event.studyKey || parsed.data.version !== event.version) throw new UnusableAnalysisResultError(`${what} result is not for the event's study and version`);
      return parsed.data;
    };
    const [shadow, active] = await Promise.all([load(event.resultKey, 'shadow'), load(event.activeResultKey, 'active')]);
    const model = (r: AnalysisResult): string => `${r.model.id}@${r.model.version}`;
    if (model(shadow) !== event.model) throw new UnusableAnalysisResultError(`the shadow result is of ${model(shadow)}, not ${event.model}`);
    const applied = await monitor.recordShadow(event.analysisId, event.model, model(active), event.completedAt, outputsOfResult(shadow), outputsOfResult(active));
    return applied ? 'applied' : 'duplicate';
  }

  private async onStudyReceived(event: StudyReceivedEvent): Promise<EventOutcome> {
    const outcome = await this.update(event.studyKey, (state, now) => applyStudyReceived(state, event, now));
    if (outcome === 'applied' || outcome === 'duplicate') await this.deps.monitor?.recordReceived(event.studyKey, event.version, event.eligible, event.receivedAt);
    // A prior with nothing the model may read will never have findings: drafts that waited for it say so.
    if ((outcome === 'applied' || outcome === 'duplicate') && !event.eligible) await this.recomposeWaitersOf(event.studyKey);
    return outcome;
  }

  private async onAnalysisFailed(event: AnalysisFailedEvent): Promise<EventOutcome> {
    const outcome = await this.update(event.studyKey, (state, now) => applyAnalysisFailed(state, event, now), failureDetail(event.version, event.reason));
    // A prior that will never have findings: drafts that waited for it now say so.
    if (outcome === 'applied' || outcome === 'duplicate') await this.recomposeWaitersOf(event.studyKey);
    return outcome;
  }

  private async onAnalysisCompleted(event: AnalysisCompletedEvent): Promise<EventOutcome> {
    const { reports } = this.deps;
    // Cheap check before the expensive part; repeated under the lock below.
    const current = await this.withStudyReceived(event, await reports.readState(event.studyKey));
    const early = analysisCompletedIgnoredReason(current, event);
    if (early === 'duplicate') {
      await this.countDuplicate(current!);
      await this.recomposeWaitersOf(event.studyKey); // a crash after the commit left them
    }
    if (early) return early;

    let draft: ReportDraft;
    let pendingPriors: string[];
    try {
      ({ draft, pendingPriors } = await withSpan('draft.compose', {}, () => this.composeWithOverlays(event, current)));
    } catch (error) {
      if (!isPermanent(error)) throw error;
      // A result that can never be used fails the study's analysis, visibly, instead of
      // leaving it pending for ever.
      const reason = `The analysis result could not be used: ${errorMessage(error)}`;
      await this.update(event.studyKey, (state, now) => applyUnusableResult(state, event, reason, now), failureDetail(event.version, reason));
      throw error;
    }

    const outcome = await reports.withStudyLock(event.studyKey, async () => {
      const state = await reports.readState(event.studyKey);
      const now = this.now().toISOString();
      const ignored = analysisCompletedIgnoredReason(state, event);
      if (ignored === 'duplicate') await this.countDuplicate(state!);
      if (ignored) return ignored;
      const transition = applyAnalysisCompleted(state, event, draft, await reports.nextRevisionNumber(state, event.studyKey), now);
      if (!transition.applied) return transition.reason;
      await reports.commit({
        revision: transition.revision,
        audit: { at: now, actor: AI_DRAFT_AUTHOR, action: 'ai-draft', revision: transition.revision.revision, detail: aiDraftDetail(transition, state) },
        state: transition.state,
      });
      await this.deps.monitor?.recordDraft(transition.revision.draft, event.completedAt);
      return 'applied' as const;
    });
    if (outcome === 'applied' || outcome === 'duplicate') {
      // This study may be a prior that other drafts were composed without; and a prior this draft
      // found pending may have been analysed while it was composed (after it was read, before
      // this draft was noted as waiting for it): both are recomposed now, if still untouched.
      await this.recomposeWaitersOf(event.studyKey);
      if (pendingPriors.length > 0) await this.recomposeComparison(event.studyKey);
    }
    return outcome;
  }

  /** Recomposes the comparison of every draft composed while `priorKey` had no report yet. */
  private async recomposeWaitersOf(priorKey: string): Promise<void> {
    const { reports } = this.deps;
    for (const studyKey of await reports.priorWaiters(priorKey)) {
      await this.recomposeComparison(studyKey);
      await reports.priorWaited(priorKey, studyKey);
    }
  }

  /**
   * A new AI draft revision with the COMPARISON composed again from the priors' reports as they are
   * now (no waiting), when it would read differently and the current revision is still the
   * untouched AI draft: unsigned, not edited, no finding decided. Otherwise the report is left as it is.
   */
  private async recomposeComparison(studyKey: string): Promise<'applied' | 'unchanged' | IgnoredReason> {
    const { reports } = this.deps;
    return reports.withStudyLock(studyKey, async () => {
      const state = await reports.readState(studyKey);
      const lookup = state?.received?.priors;
      if (!state || !lookup || state.signature !== null || state.current === null) return 'superseded';
      const current = await reports.readRevision(studyKey, state.current);
      if (current.draft.sections.comparison === undefined) return 'superseded';
      const priorReports = await this.priorReports(lookup.priors.map((p) => p.studyKey), 0);
      const comparison = comparisonSection(lookup, priorReports, current.draft.findings);
      if (comparison === current.draft.sections.comparison) return 'unchanged';
      const sections = { ...current.draft.sections, comparison };
      const draft: ReportDraft = { ...current.draft, sections, text: formatReportText(sections) };
      const now = this.now().toISOString();
      const transition = applyComparisonRecomposed(state, current, draft, await reports.nextRevisionNumber(state, studyKey), now);
      if (!transition.applied) return transition.reason;
      await reports.commit({
        revision: transition.revision,
        audit: { at: now, actor: AI_DRAFT_AUTHOR, action: 'ai-draft', revision: transition.revision.revision, detail: `comparison recomposed (revision ${current.revision}): a prior's analysis came after the draft` },
        state: transition.state,
      });
      return 'applied';
    });
  }

  /**
   * The study's state once this version's study-received has been processed, waiting for it
   * within the prior-wait bound: the prior look-up (the COMPARISON section) and the preview keys
   * come with it, and the two events of one version are consumed concurrently, so the result can
   * come first. Without it by then, the draft is composed without them (as before the look-up).
   */
  private async withStudyReceived(event: AnalysisCompletedEvent, state: ReportState | null): Promise<ReportState | null> {
    const deadline = Date.now() + (this.deps.priorWaitMs ?? 30_000);
    const pending = (s: ReportState | null) => s === null || s.version < event.version || (s.version === event.version && !s.received);
    while (pending(state) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, PRIOR_POLL_MS));
      state = await this.deps.reports.readState(event.studyKey);
    }
    return state;
  }

  /** An analysis found already applied: count its draft for monitoring (idempotent; covers a crash between commit and count). */
  private async countDuplicate(state: ReportState): Promise<void> {
    const { monitor, reports } = this.deps;
    if (!monitor || state.analysis?.outcome !== 'completed') return;
    const revision = await reports.readRevision(state.studyKey, state.analysis.revision);
    await monitor.recordDraft(revision.draft, state.analysis.completedAt);
  }

  /** The draft, and the priors it was composed without (no report yet after the wait). */
  private async composeWithOverlays(event: AnalysisCompletedEvent, state: ReportState | null): Promise<{ draft: ReportDraft; pendingPriors: string[] }> {
    const { objects, derivedBucket, reportsBucket, metrics } = this.deps;
    const stopTimer = metrics.draftComposition.startTimer();
    const result = await this.loadResult(event);
    // Overlays are rendered and the findings' side, zone and region read from the same heatmaps:
    // inline in the result (`heatmapPng`), or for results written before that, one object each.
    const geometry = new Map<string, FindingGeometry>();
    for (const image of result.images) {
      // The preview key comes with study-received; if that has not been processed yet, the
      // layout's key for it is where ingest wrote it.
      const previewKey =
        (state?.version === event.version ? state.received?.images.find((i) => i.instanceKey === image.instanceKey)?.previewKey : undefined) ??
        objectKeys.preview(event.studyKey, image.instanceKey);
      const preview = await objects.get(derivedBucket, previewKey, 32 * 1024 * 1024);
      await Promise.all(
        image.findings.map(async (finding) => {
          const heatmap = findingHeatmapPng(finding) ?? (await objects.get(derivedBucket, finding.heatmapKey!, 32 * 1024 * 1024));
          const overlay = await renderOverlay(preview, heatmap);
          await objects.put(reportsBucket, objectKeys.overlay(result.studyKey, result.version, image.instanceKey, finding.code), overlay, 'image/png');
          geometry.set(`${image.instanceKey}/${finding.code}`, await heatmapGeometry(heatmap, finding.peak, finding.code));
        }),
      );
    }
    const lookup = state?.version === event.version ? state.received?.priors : undefined;
    const priorReports = lookup ? await this.priorReports(lookup.priors.map((p) => p.studyKey), this.deps.priorWaitMs ?? 30_000) : [];
    // A prior still without a report after the wait: its analysis, when it comes, recomposes this comparison.
    const pendingPriors = priorReports.filter((r) => r.missing === 'pending').map((r) => r.studyKey);
    for (const priorKey of pendingPriors) await this.deps.reports.awaitPrior(priorKey, event.studyKey);
    const draft = composeDraft(result, {
      composedAt: this.now().toISOString(),
      geometryOf: (instanceKey, code) => geometry.get(`${instanceKey}/${code}`),
      ...(lookup ? { comparison: (findings: readonly DraftFinding[]) => comparisonSection(lookup, priorReports, findings) } : {}),
    });
    stopTimer();
    return { draft, pendingPriors };
  }

  /**
   * The priors' findings as their current reports have them (a finding the radiologist rejected
   * counts as absent); null for a prior with no report yet (its analysis still to come).
   */
  private async priorReports(studyKeys: readonly string[], waitMs: number): Promise<PriorReport[]> {
    const { reports } = this.deps;
    // The prior's analysis was queued with this study's and often runs beside it: wait for a prior
    // still pending, within the bound, so the comparison is not lost to the order of two events.
    const deadline = Date.now() + waitMs;
    return Promise.all(
      studyKeys.map(async (studyKey) => {
        let state = await reports.readState(studyKey);
        while ((!state || (state.current === null && state.analysis === null && state.received?.eligible !== false)) && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, PRIOR_POLL_MS));
          state = await reports.readState(studyKey);
        }
        if (!state?.current) {
          const never = state !== null && (state.received?.eligible === false || state.analysis?.outcome === 'failed');
          return { studyKey, findings: null, missing: never ? ('not-analysable' as const) : ('pending' as const) };
        }
        const revision = await reports.readRevision(studyKey, state.current);
        // A prior the model read none of (out of scope) has no findings: comparing with it would call everything new.
        if (revision.draft.findings.length === 0) return { studyKey, findings: null, missing: 'not-analysable' as const };
        const rejected = new Set(revision.decisions.filter((d) => d.decision === 'rejected').map((d) => `${d.instanceKey}/${d.code}`));
        return { studyKey, findings: revision.draft.findings.map((f) => ({ ...f, positive: f.positive && !rejected.has(`${f.instanceKey}/${f.code}`) })) };
      }),
    );
  }

  private async loadResult(event: AnalysisCompletedEvent): Promise<AnalysisResult> {
    const raw = await this.deps.objects.getJson(this.deps.derivedBucket, event.resultKey);
    const parsed = analysisResultSchema.safeParse(raw);
    if (!parsed.success) {
      const where = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
      throw new UnusableAnalysisResultError(`result does not match its schema (${where})`);
    }
    const result = parsed.data;
    if (result.studyKey !== event.studyKey || result.version !== event.version) {
      throw new UnusableAnalysisResultError(`result is for ${result.studyKey} v${result.version}, not the event's study and version`);
    }
    return result;
  }

  /** Read, transition and save one study's state under its lock; `failure` is audited as analysis-failed when it applies. */
  private update(studyKey: string, transition: (state: ReportState | null, now: string) => Transition, failure?: string): Promise<EventOutcome> {
    const { reports } = this.deps;
    return reports.withStudyLock(studyKey, async () => {
      const now = this.now().toISOString();
      const outcome = transition(await reports.readState(studyKey), now);
      if (!outcome.applied) return outcome.reason;
      await reports.commit({
        ...(failure !== undefined ? { audit: { at: now, actor: AI_DRAFT_AUTHOR, action: 'analysis-failed' as const, revision: null, detail: failure } } : {}),
        state: outcome.state,
      });
      return 'applied';
    });
  }
}

function failureDetail(version: number, reason: string): string {
  return `analysis version ${version} failed: ${reason}`.slice(0, 2000);
}

/** The audit detail of an AI draft: what it replaced, or that a signed report kept it out. */
function aiDraftDetail(transition: AnalysisCompletedExtra, before: ReportState | null): string {
  const { revision, becameCurrent, superseded } = transition;
  const what = `AI draft of analysis version ${revision.analysisVersion} (model ${revision.draft.model.id} ${revision.draft.model.version})`;
  if (!becameCurrent) {
    return `${what} recorded after the report was signed; the signed report (revision ${before?.current ?? 0}) is unchanged`;
  }
  if (superseded) return `${what} became the report, replacing revision ${superseded.revision} (${superseded.kind}), which stays in the history`;
  return `${what} became the report`;
}
