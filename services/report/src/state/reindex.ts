import type { Actor } from '@cxr/contracts';
import { errorMessage, type Logger } from '@cxr/platform';
import type { SecondReadStore } from '../second-read/second-read-store.ts';
import type { ModelMonitor } from '../monitoring/model-monitor.ts';
import type { ReportState } from './report-state.ts';
import type { ReportStore } from './report-store.ts';

/**
 * Rebuilds the Redis index from the reports bucket (the system of record): every study with a
 * `state.json` is read (migrating old objects) and indexed again under its lock, so a live update
 * cannot be overwritten by an older reading. Each indexed study gets a `reindex` audit entry.
 * Entries for studies no longer in the bucket are left alone (reads of them answer 404). With the
 * second read's store, each study's discrepancies (and their reviews) go back on the worklist too.
 *
 * With a `monitor`, the model-monitoring counts are rebuilt too: every AI draft revision (in the
 * hour it was stored) and every signature. Records already counted are skipped (the store applies
 * each once), so this is safe on a Redis that kept them. Study arrivals are not rebuilt: which
 * version's scope ingest judged them by is not in the bucket.
 */

export const REINDEX_ACTOR: Actor = Object.freeze({ sub: 'system:reindex', name: 'Report index rebuild', role: 'system' });

export interface ReindexResult {
  /** Studies with a state object. */
  studies: number;
  indexed: number;
  /** States without a Study Instance UID yet (nothing to look them up by): not indexed. */
  unidentified: number;
  failed: number;
  /** Discrepancies put back on the peer-review worklist. */
  discrepancies: number;
  /** With a monitor: drafts and signatures counted again (not counted before). */
  monitoringRecords?: number;
}

export async function reindexReports(deps: { reports: ReportStore; secondRead?: SecondReadStore; logger: Logger; monitor?: ModelMonitor; now?: () => Date; concurrency?: number }): Promise<ReindexResult> {
  const { reports, logger, monitor } = deps;
  const now = deps.now ?? (() => new Date());
  const studyKeys = await reports.listStudyKeys();
  const result: ReindexResult = { studies: studyKeys.length, indexed: 0, unidentified: 0, failed: 0, discrepancies: 0, ...(monitor ? { monitoringRecords: 0 } : {}) };
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < studyKeys.length) {
      const studyKey = studyKeys[next++]!;
      try {
        const entry = await reports.withStudyLock(studyKey, async () => {
          const state = await reports.readState(studyKey);
          const indexed = state ? await reports.indexState(state) : null;
          if (indexed) {
            await reports.appendAudit(studyKey, {
              at: now().toISOString(),
              actor: REINDEX_ACTOR,
              action: 'reindex',
              revision: indexed.revision,
              detail: `index rebuilt from storage: ${indexed.status}, revision ${indexed.revision}`,
            });
            if (deps.secondRead) result.discrepancies += await deps.secondRead.reindexStudy(studyKey);
          }
          return { indexed, state };
        });
        if (entry.indexed) result.indexed += 1;
        else result.unidentified += 1;
        if (monitor && entry.state) result.monitoringRecords! += await recountForMonitoring(reports, monitor, entry.state);
      } catch (error) {
        result.failed += 1;
        // The study key is pseudonymous: safe to log.
        logger.error({ studyKey, err: errorMessage(error) }, 'reindex of a study failed');
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, deps.concurrency ?? 4) }, worker));
  return result;
}

/** Counts a study's AI drafts and signature for model monitoring; returns how many were new. */
async function recountForMonitoring(reports: ReportStore, monitor: ModelMonitor, state: ReportState): Promise<number> {
  let counted = 0;
  for (const ref of state.revisions.filter((r) => r.kind === 'ai-draft')) {
    const revision = await reports.readRevision(state.studyKey, ref.revision);
    if (await monitor.recordDraft(revision.draft, revision.createdAt)) counted++;
  }
  if (state.signature && (await monitor.recordSigned(await reports.readRevision(state.studyKey, state.signature.revision)))) counted++;
  return counted;
}
