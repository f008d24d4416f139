import { randomBytes, randomUUID } from 'node:crypto';
import { auditEntrySchema, objectKeys, type AuditEntry, type ReportStatus, type WorklistItem } from '@cxr/contracts';
import { ObjectNotFoundError, PermanentError, TransientError, type ObjectStore, type Redis } from '@cxr/platform';
import { currentRevisionOfV1, migrateRevisionV1, migrateStateV1, reportRevisionV1Schema, reportStateV1Schema } from './migrate.ts';
import { ReportIndex, type ReportIndexEntry, type WorklistQuery } from './report-index.ts';
import { latestRevision, reportRevisionSchema, reportStateSchema, type ReportRevision, type ReportState } from './report-state.ts';

export { reportUpdatesChannel, type ReportIndexEntry, type WorklistQuery } from './report-index.ts';

/**
 * Where report state lives. Object storage is the system of record, append-only apart from
 * `state.json`: one object per revision and one per audit entry, never overwritten. Redis holds
 * an index (report-index.ts), always written after the objects, so `reindex` can rebuild it.
 *
 * Updates to one study are serialised with a Redis lock (compare-and-delete release): events and
 * requests change a study concurrently, and object storage offers no conditional writes to fall
 * back on (s3rver ignores If-Match). A revision's number is one past every revision *stored*, not
 * only those the state names, so a revision left behind by an update that failed before saving
 * its state is kept, not overwritten.
 */

export interface ReportStoreOptions {
  objects: ObjectStore;
  redis: Redis;
  /** The reports bucket. */
  bucket: string;
  /** Namespace of the index keys in Redis (the service's queue prefix). */
  keyPrefix: string;
  /** Finding codes that put a study at the top of the worklist (`REPORT_URGENT_FINDINGS`). */
  urgentFindings?: readonly string[];
  lockTtlMs?: number;
  lockWaitMs?: number;
}

/** One change of a study's report (`ReportStore.commit`). */
export interface ReportCommit {
  /** A new revision, when the change makes one. */
  revision?: ReportRevision;
  /** What the change was, for the study's audit trail. */
  audit?: AuditEntry;
  /** The study's state after the change. */
  state: ReportState;
}

export const DEFAULT_URGENT_FINDINGS: readonly string[] = Object.freeze(['pneumothorax']);

export class CorruptReportStateError extends PermanentError {
  constructor(what: string, options?: ErrorOptions) {
    super(`stored report ${what} does not match its schema`, options);
    this.name = 'CorruptReportStateError';
  }
}

export class StudyLockTimeoutError extends TransientError {
  constructor(studyKey: string) {
    super(`timed out waiting for the report lock of study ${studyKey}`);
    this.name = 'StudyLockTimeoutError';
  }
}

/** A write would replace an append-only object: a bug or an update outside the study lock. */
export class RevisionExistsError extends PermanentError {
  constructor(studyKey: string, revision: number) {
    super(`revision ${revision} of study ${studyKey} already exists; revisions are never overwritten`);
    this.name = 'RevisionExistsError';
  }
}

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

/** How long a draft waits to have its comparison recomposed by a prior's late analysis. */
const PRIOR_WAITERS_TTL_S = 7 * 24 * 3600;

export class ReportStore {
  private readonly objects: ObjectStore;
  private readonly redis: Redis;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;
  readonly index: ReportIndex;

  constructor(options: ReportStoreOptions) {
    this.objects = options.objects;
    this.redis = options.redis;
    this.bucket = options.bucket;
    this.keyPrefix = `${options.keyPrefix}:report`;
    this.lockTtlMs = options.lockTtlMs ?? 60_000;
    this.lockWaitMs = options.lockWaitMs ?? 60_000;
    this.index = new ReportIndex(options.redis, options.keyPrefix, options.urgentFindings ?? DEFAULT_URGENT_FINDINGS);
  }

  /**
   * Notes that `studyKey`'s draft was composed while the prior `priorKey` had no report yet, so the
   * prior's analysis, when it comes, recomposes that draft's comparison (kept a week at most).
   */
  async awaitPrior(priorKey: string, studyKey: string): Promise<void> {
    const key = this.priorWaitersKey(priorKey);
    await this.redis.multi().sadd(key, studyKey).expire(key, PRIOR_WAITERS_TTL_S).exec();
  }

  /** The studies whose drafts wait for `priorKey` (see awaitPrior). */
  async priorWaiters(priorKey: string): Promise<string[]> {
    return (await this.redis.smembers(this.priorWaitersKey(priorKey))).sort();
  }

  async priorWaited(priorKey: string, studyKey: string): Promise<void> {
    await this.redis.srem(this.priorWaitersKey(priorKey), studyKey);
  }

  private priorWaitersKey(priorKey: string): string {
    return `${this.keyPrefix}:prior-waiters:${priorKey}`;
  }

  /** The study's state; one written before review existed is migrated as it is read. */
  async readState(studyKey: string): Promise<ReportState | null> {
    const raw = await this.readJson(objectKeys.reportState(studyKey));
    if (raw === null) return null;
    if ((raw as { schemaVersion?: unknown } | null)?.schemaVersion === 1) {
      const old = reportStateV1Schema.safeParse(raw);
      if (!old.success) throw new CorruptReportStateError(`state of study ${studyKey}`, { cause: old.error });
      const current = currentRevisionOfV1(old.data);
      return migrateStateV1(old.data, current === null ? null : await this.readRevision(studyKey, current));
    }
    const parsed = reportStateSchema.safeParse(raw);
    if (!parsed.success) throw new CorruptReportStateError(`state of study ${studyKey}`, { cause: parsed.error });
    return parsed.data;
  }

  /**
   * Writes one change of a study, in order: the new revision (if any), its audit entry (if any),
   * then the state that names it (and with it the index). So a state never names a revision that
   * is not stored, and an audit entry exists for every change; one whose state write then failed
   * names a revision the report never showed (the caller saw an error and retries; the next
   * revision number skips it). Call under the study lock.
   */
  async commit(change: ReportCommit): Promise<void> {
    const { revision, audit, state } = change;
    if (revision && revision.studyKey !== state.studyKey) throw new Error(`revision of study ${revision.studyKey} committed with the state of ${state.studyKey}`);
    if (revision) await this.writeRevision(revision);
    if (audit) await this.appendAudit(state.studyKey, audit);
    await this.saveState(state);
  }

  /** Writes the state object, then the index (which announces the change). */
  private async saveState(state: ReportState): Promise<void> {
    await this.objects.putJson(this.bucket, objectKeys.reportState(state.studyKey), reportStateSchema.parse(state));
    await this.index.write(state);
  }

  /** The number for a new revision: one past every revision the state names or the bucket holds. */
  async nextRevisionNumber(state: ReportState | null, studyKey: string): Promise<number> {
    const stored = await this.listRevisions(studyKey);
    return Math.max(state ? latestRevision(state) : 0, stored[stored.length - 1] ?? 0) + 1;
  }

  /** Stores a new revision; refuses to replace one (call under the study lock). */
  private async writeRevision(revision: ReportRevision): Promise<void> {
    const key = objectKeys.reportRevision(revision.studyKey, revision.revision);
    if (await this.objects.stat(this.bucket, key)) throw new RevisionExistsError(revision.studyKey, revision.revision);
    await this.objects.putJson(this.bucket, key, reportRevisionSchema.parse(revision));
  }

  async readRevision(studyKey: string, revision: number): Promise<ReportRevision> {
    const raw = await this.objects.getJson(this.bucket, objectKeys.reportRevision(studyKey, revision));
    if ((raw as { schemaVersion?: unknown } | null)?.schemaVersion === 1) {
      const old = reportRevisionV1Schema.safeParse(raw);
      if (!old.success) throw new CorruptReportStateError(`revision ${revision} of study ${studyKey}`, { cause: old.error });
      return migrateRevisionV1(old.data);
    }
    const parsed = reportRevisionSchema.safeParse(raw);
    if (!parsed.success) throw new CorruptReportStateError(`revision ${revision} of study ${studyKey}`, { cause: parsed.error });
    return parsed.data;
  }

  /** Revision numbers stored for a study, ascending. */
  async listRevisions(studyKey: string): Promise<number[]> {
    const keys = await this.objects.list(this.bucket, objectKeys.reportRevisionPrefix(studyKey));
    return keys
      .map((key) => /\/(\d+)\.json$/.exec(key)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Appends an audit entry (its own object, never overwritten). */
  async appendAudit(studyKey: string, entry: AuditEntry): Promise<void> {
    const valid = auditEntrySchema.parse(entry);
    // Random, not a UUID: short, and the time in the key already orders entries.
    const id = randomBytes(6).toString('hex');
    await this.objects.putJson(this.bucket, objectKeys.auditEntry(studyKey, valid.at, id), valid);
  }

  /** The study's audit trail, oldest first. */
  async readAudit(studyKey: string): Promise<AuditEntry[]> {
    const keys = (await this.objects.list(this.bucket, objectKeys.auditPrefix(studyKey))).sort();
    const entries: AuditEntry[] = [];
    // In slices: a long trail must not open hundreds of requests at once.
    for (let i = 0; i < keys.length; i += 16) {
      const slice = await Promise.all(keys.slice(i, i + 16).map((key) => this.objects.getJson(this.bucket, key)));
      for (const [j, raw] of slice.entries()) {
        const parsed = auditEntrySchema.safeParse(raw);
        if (!parsed.success) throw new CorruptReportStateError(`audit entry ${keys[i + j]}`, { cause: parsed.error });
        entries.push(parsed.data);
      }
    }
    return entries;
  }

  /** Every study that has a state object in the bucket (what a reindex walks). */
  async listStudyKeys(): Promise<string[]> {
    const studyKeys: string[] = [];
    // Listing by delimiter gives one prefix per study instead of every revision and audit entry.
    for (const prefix of await this.objects.listPrefixes(this.bucket, objectKeys.reportsRoot())) {
      const match = /^reports\/([a-z0-9]{16,64})\/$/.exec(prefix);
      if (match) studyKeys.push(match[1]!);
    }
    const withState = await Promise.all(studyKeys.map(async (studyKey) => ((await this.objects.stat(this.bucket, objectKeys.reportState(studyKey))) ? studyKey : null)));
    return withState.filter((key): key is string => key !== null).sort();
  }

  /** Puts a study into the Redis index; a study not yet identified (no UID) is left out. */
  async indexState(state: ReportState): Promise<ReportIndexEntry | null> {
    return this.index.write(state);
  }

  lookup(studyInstanceUid: string): Promise<ReportIndexEntry | null> {
    return this.index.lookup(studyInstanceUid);
  }

  countByStatus(): Promise<Record<ReportStatus, number>> {
    return this.index.countByStatus();
  }

  worklist(query: WorklistQuery): Promise<{ items: WorklistItem[]; next: string | null }> {
    return this.index.worklist(query);
  }

  /** Runs `fn` holding the study's lock; waits for it up to `lockWaitMs`, then fails transiently. */
  async withStudyLock<T>(studyKey: string, fn: () => Promise<T>): Promise<T> {
    const key = `${this.keyPrefix}:lock:${studyKey}`;
    const token = randomUUID();
    const deadline = Date.now() + this.lockWaitMs;
    let delay = 10;
    while ((await this.redis.set(key, token, 'PX', this.lockTtlMs, 'NX')) !== 'OK') {
      if (Date.now() > deadline) throw new StudyLockTimeoutError(studyKey);
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 200);
    }
    try {
      return await fn();
    } finally {
      await this.redis.eval(RELEASE_LOCK, 1, key, token);
    }
  }

  private async readJson(key: string): Promise<unknown> {
    try {
      return await this.objects.getJson(this.bucket, key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return null;
      throw error;
    }
  }
}
