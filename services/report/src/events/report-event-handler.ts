import {
  analysisResultSchema,
  objectKeys,
  type AnalysisCompletedEvent,
  type AnalysisFailedEvent,
  type AnalysisResult,
  type ReportEvent,
  type StudyReceivedEvent,
} from '@cxr/contracts';
import { errorMessage, isPermanent, PermanentError, type Logger, type ObjectStore } from '@cxr/platform';
import { composeDraft } from '../drafts/compose-draft.ts';
import { renderOverlay } from '../drafts/overlays.ts';
import type { ReportDraft } from '../drafts/report-draft.ts';
import type { ReportMetrics } from '../metrics.ts';
import {
  applyAnalysisCompleted,
  applyAnalysisFailed,
  applyStudyReceived,
  applyUnusableResult,
  type IgnoredReason,
  type ReportState,
  type Transition,
} from '../state/report-state.ts';
import type { ReportStore } from '../state/report-store.ts';

/**
 * Applies one validated report event to the study's report state. Safe to run twice: the state
 * transitions recognise an event already applied, and everything written is keyed by study,
 * version and revision, so a retry after a crash overwrites rather than adds.
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
  now?: () => Date;
}

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
    }
  }

  private onStudyReceived(event: StudyReceivedEvent): Promise<EventOutcome> {
    return this.update(event.studyKey, (state, now) => applyStudyReceived(state, event, now));
  }

  private onAnalysisFailed(event: AnalysisFailedEvent): Promise<EventOutcome> {
    return this.update(event.studyKey, (state, now) => applyAnalysisFailed(state, event, now));
  }

  private async onAnalysisCompleted(event: AnalysisCompletedEvent): Promise<EventOutcome> {
    const { reports } = this.deps;
    // Cheap check before the expensive part; repeated under the lock below.
    const current = await reports.readState(event.studyKey);
    const early = applyAnalysisCompleted(current, event, this.now().toISOString());
    if (!early.applied) return early.reason;

    let draft: ReportDraft;
    try {
      draft = await this.composeWithOverlays(event, current);
    } catch (error) {
      if (!isPermanent(error)) throw error;
      // A result that can never be used fails the study's analysis, visibly, instead of
      // leaving it pending for ever.
      const reason = `The analysis result could not be used: ${errorMessage(error)}`;
      await this.update(event.studyKey, (state, now) => applyUnusableResult(state, event, reason, now));
      throw error;
    }

    return reports.withStudyLock(event.studyKey, async () => {
      const state = await reports.readState(event.studyKey);
      const now = this.now().toISOString();
      const transition = applyAnalysisCompleted(state, event, now);
      if (!transition.applied) return transition.reason;
      await reports.writeRevision({ schemaVersion: 1, studyKey: event.studyKey, revision: transition.revision, kind: 'ai-draft', createdAt: now, draft });
      await reports.saveState(transition.state);
      return 'applied';
    });
  }

  private async composeWithOverlays(event: AnalysisCompletedEvent, state: ReportState | null): Promise<ReportDraft> {
    const { objects, derivedBucket, reportsBucket, metrics } = this.deps;
    const stopTimer = metrics.draftComposition.startTimer();
    const result = await this.loadResult(event);
    const draft = composeDraft(result, { composedAt: this.now().toISOString() });
    for (const image of result.images) {
      // The preview key comes with study-received; if that has not been processed yet, the
      // layout's key for it is where ingest wrote it.
      const previewKey =
        (state?.version === event.version ? state.received?.images.find((i) => i.instanceKey === image.instanceKey)?.previewKey : undefined) ??
        objectKeys.preview(event.studyKey, image.instanceKey);
      const preview = await objects.get(derivedBucket, previewKey, 32 * 1024 * 1024);
      const findings = draft.findings.filter((f) => f.instanceKey === image.instanceKey);
      await Promise.all(
        findings.map(async (finding) => {
          const heatmap = await objects.get(derivedBucket, finding.heatmapKey, 32 * 1024 * 1024);
          const overlay = await renderOverlay(preview, heatmap);
          await objects.put(reportsBucket, finding.overlayKey, overlay, 'image/png');
        }),
      );
    }
    stopTimer();
    return draft;
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

  /** Read, transition and save one study's state under its lock. */
  private update(studyKey: string, transition: (state: ReportState | null, now: string) => Transition): Promise<EventOutcome> {
    const { reports } = this.deps;
    return reports.withStudyLock(studyKey, async () => {
      const outcome = transition(await reports.readState(studyKey), this.now().toISOString());
      if (!outcome.applied) return outcome.reason;
      await reports.saveState(outcome.state);
      return 'applied';
    });
  }
}
