import type { Actor } from '@cxr/contracts';
import { errorMessage, type Logger } from '@cxr/platform';
import type { SecondReadStore } from '../second-read/second-read-store.ts';
import type { ReportStore } from './report-store.ts';

/**
 * Rebuilds the Redis index from the reports bucket (the system of record): every study with a
 * `state.json` is read (migrating old objects) and indexed again under its lock, so a live update
 * cannot be overwritten by an older reading. Each indexed study gets a `reindex` audit entry.
 * Entries for studies no longer in the bucket are left alone (reads of them answer 404). With the
 * second read's store, each study's discrepancies (and their reviews) go back on the worklist too.
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
}

export async function reindexReports(deps: { reports: ReportStore; secondRead?: SecondReadStore; logger: Logger; now?: () => Date; concurrency?: number }): Promise<ReindexResult> {
  const { reports, logger } = deps;
  const now = deps.now ?? (() => new Date());
  const studyKeys = await reports.listStudyKeys();
  const result: ReindexResult = { studies: studyKeys.length, indexed: 0, unidentified: 0, failed: 0, discrepancies: 0 };
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
          return indexed;
        });
        if (entry) result.indexed += 1;
        else result.unidentified += 1;
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
