import { randomUUID } from 'node:crypto';
import { objectKeys, reportStatusSchema, type ReportStatus, type StudyPriority } from '@cxr/contracts';
import { ObjectNotFoundError, PermanentError, TransientError, type ObjectStore, type Redis } from '@cxr/platform';
import { reportRevisionSchema, reportStateSchema, reportStatusOf, type ReportRevision, type ReportState } from './report-state.ts';

/**
 * Where report state lives. Object storage is the system of record: `state.json` per study and
 * one object per revision. Redis holds an index for lookups by StudyInstanceUID and counts by
 * status, always written after the object, so it can be rebuilt from the bucket (next issue:
 * reindex when Redis is wiped; `indexState` is the function such a reindex calls per study).
 *
 * Updates to one study are serialised with a Redis lock (compare-and-delete release): events
 * are processed concurrently, and object storage offers no conditional writes to fall back on
 * (s3rver ignores If-Match).
 */

export interface ReportIndexEntry {
  studyKey: string;
  status: ReportStatus;
  priority: StudyPriority;
  version: number;
  updatedAt: string;
}

export interface ReportStoreOptions {
  objects: ObjectStore;
  redis: Redis;
  /** The reports bucket. */
  bucket: string;
  /** Namespace of the index keys in Redis (the service's queue prefix). */
  keyPrefix: string;
  lockTtlMs?: number;
  lockWaitMs?: number;
}

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

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class ReportStore {
  private readonly objects: ObjectStore;
  private readonly redis: Redis;
  private readonly bucket: string;
  private readonly keyPrefix: string;
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;

  constructor(options: ReportStoreOptions) {
    this.objects = options.objects;
    this.redis = options.redis;
    this.bucket = options.bucket;
    this.keyPrefix = `${options.keyPrefix}:report`;
    this.lockTtlMs = options.lockTtlMs ?? 60_000;
    this.lockWaitMs = options.lockWaitMs ?? 60_000;
  }

  async readState(studyKey: string): Promise<ReportState | null> {
    let raw: unknown;
    try {
      raw = await this.objects.getJson(this.bucket, objectKeys.reportState(studyKey));
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return null;
      throw error;
    }
    const parsed = reportStateSchema.safeParse(raw);
    if (!parsed.success) throw new CorruptReportStateError(`state of study ${studyKey}`, { cause: parsed.error });
    return parsed.data;
  }

  /** Writes the state object, then the index. */
  async saveState(state: ReportState): Promise<void> {
    await this.objects.putJson(this.bucket, objectKeys.reportState(state.studyKey), state);
    await this.indexState(state);
  }

  async writeRevision(revision: ReportRevision): Promise<void> {
    await this.objects.putJson(this.bucket, objectKeys.reportRevision(revision.studyKey, revision.revision), revision);
  }

  async readRevision(studyKey: string, revision: number): Promise<ReportRevision> {
    const raw = await this.objects.getJson(this.bucket, objectKeys.reportRevision(studyKey, revision));
    const parsed = reportRevisionSchema.safeParse(raw);
    if (!parsed.success) throw new CorruptReportStateError(`revision ${revision} of study ${studyKey}`, { cause: parsed.error });
    return parsed.data;
  }

  /** Revision numbers stored for a study, ascending (what a reindex or an audit would list). */
  async listRevisions(studyKey: string): Promise<number[]> {
    const prefix = objectKeys.reportRevision(studyKey, 0).replace(/[^/]+$/, '');
    const keys = await this.objects.list(this.bucket, prefix);
    return keys
      .map((key) => /\/(\d+)\.json$/.exec(key)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number)
      .sort((a, b) => a - b);
  }

  /** Puts a study into the Redis index; a study not yet identified (no UID) is left out. */
  async indexState(state: ReportState): Promise<void> {
    if (!state.identity) return;
    const { status } = reportStatusOf(state);
    const entry: ReportIndexEntry = {
      studyKey: state.studyKey,
      status,
      priority: state.identity.priority,
      version: state.version,
      updatedAt: state.updatedAt,
    };
    const tx = this.redis.multi().hset(this.studyIndexKey(state.identity.studyInstanceUid), { ...entry, version: String(entry.version) });
    for (const other of reportStatusSchema.options) {
      if (other !== status) tx.srem(this.statusKey(other), state.studyKey);
    }
    tx.sadd(this.statusKey(status), state.studyKey);
    const results = await tx.exec();
    const failed = results?.find(([error]) => error !== null);
    if (!results || failed) throw new TransientError(`report index update failed: ${failed?.[0]?.message ?? 'transaction aborted'}`);
  }

  async lookup(studyInstanceUid: string): Promise<ReportIndexEntry | null> {
    const hash = await this.redis.hgetall(this.studyIndexKey(studyInstanceUid));
    if (!hash.studyKey) return null;
    return {
      studyKey: hash.studyKey,
      status: reportStatusSchema.parse(hash.status),
      priority: hash.priority as StudyPriority,
      version: Number(hash.version),
      updatedAt: hash.updatedAt ?? '',
    };
  }

  async countByStatus(): Promise<Record<ReportStatus, number>> {
    const statuses = reportStatusSchema.options;
    const counts = await Promise.all(statuses.map((status) => this.redis.scard(this.statusKey(status))));
    return Object.fromEntries(statuses.map((status, i) => [status, counts[i] ?? 0])) as Record<ReportStatus, number>;
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

  private studyIndexKey(studyInstanceUid: string): string {
    return `${this.keyPrefix}:study:${studyInstanceUid}`;
  }

  private statusKey(status: ReportStatus): string {
    return `${this.keyPrefix}:status:${status}`;
  }
}
