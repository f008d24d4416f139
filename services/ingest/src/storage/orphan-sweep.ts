/**
 * Finds originals that are in the bucket but not in the index ("orphans": stored, then recording
 * failed and the sender was told to retry; or a sender gave up) and settles each one older than the
 * grace age: an object whose bytes are the instance its key names is recorded (and so completed, by
 * the reconciler), anything else is removed. Younger objects are left alone: their sender's retry
 * (or a C-STORE still between its PUT and its record) records them.
 *
 * It lists the whole originals bucket, so it runs as a job (`npm run ingest:sweep-orphans`), not on
 * every instance. Recording is the choice that loses nothing: the instance was received whole and
 * valid, only its acknowledgement failed.
 */
import { errorMessage, type Logger, type ObjectStore } from '@cxr/platform';
import type { StudyRegistry } from '../studies/study-registry.ts';
import type { InstanceStore } from './instance-store.ts';

const ORIGINAL_KEY = /^studies\/([^/]+)\/series\/([^/]+)\/instances\/([^/]+)\/([0-9a-f]{64})\.dcm$/;

export interface OrphanSweepResult {
  scanned: number;
  /** Orphans younger than the grace age, left for now. */
  young: number;
  /** Orphans recorded (their study's completion follows). */
  recorded: number;
  /** Objects removed: not an instance, or not the instance their key names. */
  removed: number;
  /** Objects that could not be settled now (storage or Redis trouble); the next run tries again. */
  failed: number;
}

export interface OrphanSweepOptions {
  graceMs: number;
  /** Count what would be done, change nothing. */
  dryRun?: boolean;
  now?: Date;
  /** Called with the study of each orphan recorded (to schedule its completion). */
  onRecorded?: (studyInstanceUid: string) => Promise<void>;
}

export class OrphanSweep {
  constructor(
    private readonly deps: { objects: ObjectStore; bucket: string; registry: StudyRegistry; instances: InstanceStore; logger: Logger; maxInstanceBytes: number },
  ) {}

  async sweep(options: OrphanSweepOptions): Promise<OrphanSweepResult> {
    const { objects, bucket, registry, instances, logger } = this.deps;
    const now = (options.now ?? new Date()).getTime();
    const result: OrphanSweepResult = { scanned: 0, young: 0, recorded: 0, removed: 0, failed: 0 };
    // The client's listing for the modification times (ObjectStore.list returns names only);
    // it goes through the same transport, so each request has the same timeout.
    for await (const item of objects.client.listObjects(bucket, 'studies/', true)) {
      const key = (item as { name?: string }).name;
      if (!key) continue;
      result.scanned += 1;
      const match = ORIGINAL_KEY.exec(key);
      try {
        if (match) {
          const record = await registry.instance(match[1]!, match[3]!);
          if (record && (record.objectKey === key || (record.conflicts ?? []).includes(key))) continue;
        }
        const modified = (item as { lastModified?: Date }).lastModified?.getTime() ?? now;
        if (now - modified < options.graceMs) {
          result.young += 1;
          continue;
        }
        const outcome = match ? await instances.adopt(key, await objects.get(bucket, key, this.deps.maxInstanceBytes), { dryRun: options.dryRun === true }) : 'mismatch';
        if (outcome === 'mismatch') {
          if (!options.dryRun) await objects.remove(bucket, key);
          result.removed += 1;
          logger.warn(
            { bucket, reason: match ? 'not the instance its key names' : 'not an original key' },
            options.dryRun ? 'orphan object would be removed (dry run)' : 'orphan object removed',
          );
        } else {
          result.recorded += 1;
          if (!options.dryRun && options.onRecorded) await options.onRecorded(match![1]!);
        }
      } catch (error) {
        result.failed += 1;
        logger.warn({ bucket, reason: errorMessage(error) }, 'orphan object not settled; the next sweep tries again');
      }
    }
    return result;
  }
}
