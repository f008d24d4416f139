import {
  reportStatusSchema,
  reportUpdatedEventSchema,
  studyPrioritySchema,
  type ReportStatus,
  type ReportUpdatedEvent,
  type StudyPriority,
  type WorklistItem,
} from '@cxr/contracts';
import { TransientError, type Redis } from '@cxr/platform';
import { reportStatusOf, shownRevisionOf, type ReportState } from './report-state.ts';

/**
 * The Redis index of reports: lookups by StudyInstanceUID, the worklist and counts by status.
 * Always written after the objects it describes, so it can be rebuilt from the bucket (reindex).
 *
 * Keys (under `{QUEUE_PREFIX}:report`):
 * - `study:{uid}`: hash with the study's key, status, priority, revision, urgent findings, ...
 * - `worklist:{status}`: sorted set (all scores 0, ordered by member) of
 *   `{group}|{arrival ms, 15 digits}|{uid}`, where group = 3 x (urgent findings ? 0 : 1) +
 *   priority rank (stat 0, urgent 1, routine 2). Lexicographic order is then the worklist order
 *   (urgent findings, priority, oldest first, then UID), a priority filter is a range per group,
 *   and the last member seen is the page cursor.
 *
 * After each index write, a `reportUpdatedEventSchema` JSON goes out on `reportUpdatesChannel`.
 *
 * A prior fetched from a PACS only for another study's comparison (identity `role: 'prior'`) has
 * its hash (found by UID, `role` field 'prior') but no worklist member: it is in no worklist, no
 * count by status and no worklist update. Nobody is asked to read or sign it.
 */

/** The Redis key naming the study of an accession number (`identity.accessionKey`, a hash of it). */
export function accessionIndexKey(queuePrefix: string, accessionKey: string): string {
  return `${queuePrefix}:report:accession:${accessionKey}`;
}

export function reportUpdatesChannel(queuePrefix: string): string {
  return `${queuePrefix}:report:updates`;
}

export interface ReportIndexEntry {
  studyKey: string;
  status: ReportStatus;
  priority: StudyPriority;
  version: number;
  /** The revision the report shows (0 when none). */
  revision: number;
  urgentFindings: string[];
  positiveFindings: number;
  arrivedAt: string;
  updatedAt: string;
  /** 'prior': a prior fetched for another study's comparison, kept off the worklist. */
  role?: 'prior';
}

export interface WorklistQuery {
  statuses: readonly ReportStatus[];
  priorities: readonly StudyPriority[];
  limit: number;
  /** The last member of the previous page (see `decodeWorklistCursor`). */
  after: string | null;
}

const PRIORITY_RANK: Record<StudyPriority, number> = { stat: 0, urgent: 1, routine: 2 };
const MEMBER = /^[0-5]\|\d{15}\|(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$/;

/**
 * Removes the study's old worklist member from every status set, then writes the hash and the new
 * member (none when ARGV[1] is 0: a prior, on no worklist).
 */
const WRITE_ENTRY = `
local old = redis.call('hget', KEYS[1], 'member')
if old then
  for i = 2, #KEYS do redis.call('zrem', KEYS[i], old) end
end
redis.call('del', KEYS[1])
redis.call('hset', KEYS[1], unpack(ARGV, 3))
if ARGV[1] ~= '0' then redis.call('zadd', KEYS[tonumber(ARGV[1])], 0, ARGV[2]) end
return 1`;

export function worklistMember(urgent: boolean, priority: StudyPriority, arrivedAt: string, studyInstanceUid: string): string {
  const group = (urgent ? 0 : 3) + PRIORITY_RANK[priority];
  return `${group}|${String(Date.parse(arrivedAt)).padStart(15, '0')}|${studyInstanceUid}`;
}

export function encodeWorklistCursor(member: string): string {
  return Buffer.from(member, 'utf8').toString('base64url');
}

/** The member a cursor stands for, or null when it is not one this service made. */
export function decodeWorklistCursor(cursor: string): string | null {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) return null;
  const member = Buffer.from(cursor, 'base64url').toString('utf8');
  return MEMBER.test(member) ? member : null;
}

export class ReportIndex {
  private readonly keyPrefix: string;
  private readonly channel: string;

  constructor(
    private readonly redis: Redis,
    private readonly queuePrefix: string,
    private readonly urgentCodes: readonly string[],
  ) {
    this.keyPrefix = `${queuePrefix}:report`;
    this.channel = reportUpdatesChannel(queuePrefix);
  }

  /** What the index holds for a state, or null for a study not yet identified (no UID to find it by). */
  entryOf(state: ReportState): ReportIndexEntry | null {
    if (!state.identity) return null;
    const { status } = reportStatusOf(state);
    const revision = shownRevisionOf(state) ?? 0;
    // Findings count only while a report shows them.
    const positives = revision > 0 ? state.positiveFindings : [];
    return {
      studyKey: state.studyKey,
      status,
      priority: state.identity.priority,
      version: state.version,
      revision,
      urgentFindings: positives.filter((code) => this.urgentCodes.includes(code)),
      positiveFindings: positives.length,
      arrivedAt: state.arrivedAt ?? state.updatedAt,
      updatedAt: state.updatedAt,
      ...(state.identity.role ? { role: state.identity.role } : {}),
    };
  }

  /**
   * Puts a study into the index and announces the change; a study not yet identified is left out. A
   * prior gets its hash only (found by UID; no worklist member, no announcement).
   */
  async write(state: ReportState): Promise<ReportIndexEntry | null> {
    const entry = this.entryOf(state);
    if (!entry || !state.identity) return null;
    const uid = state.identity.studyInstanceUid;
    const onWorklist = entry.role !== 'prior';
    const member = worklistMember(entry.urgentFindings.length > 0, entry.priority, entry.arrivedAt, uid);
    const statusKeys = reportStatusSchema.options.map((status) => this.worklistKey(status));
    const fields = {
      studyKey: entry.studyKey,
      status: entry.status,
      priority: entry.priority,
      version: String(entry.version),
      revision: String(entry.revision),
      urgentFindings: entry.urgentFindings.join(','),
      positiveFindings: String(entry.positiveFindings),
      arrivedAt: entry.arrivedAt,
      updatedAt: entry.updatedAt,
      ...(onWorklist ? { member } : { role: 'prior' }),
    };
    try {
      await this.redis.eval(
        WRITE_ENTRY,
        1 + statusKeys.length,
        this.studyKey(uid),
        ...statusKeys,
        onWorklist ? String(2 + reportStatusSchema.options.indexOf(entry.status)) : '0',
        member,
        ...Object.entries(fields).flat(),
      );
      // The second read finds a study by its accession number (second-read/second-read-store.ts).
      if (state.identity.accessionKey) await this.redis.set(accessionIndexKey(this.queuePrefix, state.identity.accessionKey), uid);
    } catch (error) {
      throw new TransientError(`report index update failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    if (!onWorklist) return entry;
    const update: ReportUpdatedEvent = reportUpdatedEventSchema.parse({
      studyInstanceUid: uid,
      status: entry.status,
      priority: entry.priority,
      revision: entry.revision,
      urgentFindings: entry.urgentFindings,
      updatedAt: entry.updatedAt,
    });
    await this.redis.publish(this.channel, JSON.stringify(update));
    return entry;
  }

  async lookup(studyInstanceUid: string): Promise<ReportIndexEntry | null> {
    return entryFromHash(await this.redis.hgetall(this.studyKey(studyInstanceUid)));
  }

  async countByStatus(): Promise<Record<ReportStatus, number>> {
    const statuses = reportStatusSchema.options;
    const counts = await Promise.all(statuses.map((status) => this.redis.zcard(this.worklistKey(status))));
    return Object.fromEntries(statuses.map((status, i) => [status, counts[i] ?? 0])) as Record<ReportStatus, number>;
  }

  /** One page of the worklist, in worklist order; `next` is the cursor of the following page. */
  async worklist(query: WorklistQuery): Promise<{ items: WorklistItem[]; next: string | null }> {
    const groups = [0, 1, 2, 3, 4, 5].filter((group) => query.priorities.some((p) => PRIORITY_RANK[p] === group % 3));
    const pipeline = this.redis.pipeline();
    for (const status of query.statuses) {
      for (const group of groups) {
        const start = `${group}|`;
        const min = query.after !== null && query.after >= start ? `(${query.after}` : `[${start}`;
        // '}' sorts right after '|': the end of the group.
        pipeline.zrangebylex(this.worklistKey(status), min, `(${group}}`, 'LIMIT', 0, query.limit + 1);
      }
    }
    const results = (await pipeline.exec()) ?? [];
    const members: string[] = [];
    for (const [error, value] of results) {
      if (error) throw new TransientError(`worklist query failed: ${error.message}`, { cause: error });
      members.push(...(value as string[]));
    }
    members.sort();
    const page = members.slice(0, query.limit);
    const uids = page.map((member) => member.slice(member.lastIndexOf('|') + 1));
    const hashes = await Promise.all(uids.map((uid) => this.redis.hgetall(this.studyKey(uid))));
    const items: WorklistItem[] = [];
    uids.forEach((uid, i) => {
      const entry = entryFromHash(hashes[i] ?? {});
      // Removed between the two reads: leave it out rather than show a stale row.
      if (!entry) return;
      items.push({
        studyInstanceUid: uid,
        status: entry.status,
        priority: entry.priority,
        urgentFindings: entry.urgentFindings,
        positiveFindings: entry.positiveFindings,
        revision: entry.revision,
        updatedAt: entry.updatedAt,
      });
    });
    return { items, next: members.length > query.limit ? encodeWorklistCursor(page[page.length - 1]!) : null };
  }

  private studyKey(studyInstanceUid: string): string {
    return `${this.keyPrefix}:study:${studyInstanceUid}`;
  }

  private worklistKey(status: ReportStatus): string {
    return `${this.keyPrefix}:worklist:${status}`;
  }
}

function entryFromHash(hash: Record<string, string>): ReportIndexEntry | null {
  if (!hash.studyKey) return null;
  return {
    studyKey: hash.studyKey,
    status: reportStatusSchema.parse(hash.status),
    priority: studyPrioritySchema.parse(hash.priority),
    version: Number(hash.version),
    revision: Number(hash.revision ?? 0),
    urgentFindings: hash.urgentFindings ? hash.urgentFindings.split(',') : [],
    positiveFindings: Number(hash.positiveFindings ?? 0),
    arrivedAt: hash.arrivedAt ?? '',
    updatedAt: hash.updatedAt ?? '',
    ...(hash.role === 'prior' ? { role: 'prior' as const } : {}),
  };
}
