import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  discrepancyKindSchema,
  discrepancyReviewSchema,
  dicomUidSchema,
  finalReportSourceSchema,
  isoDateTimeSchema,
  objectKeys,
  pseudonymKeySchema,
  reportFindingStatusSchema,
  reportStatusSchema,
  secondReadAgreementSchema,
  type DiscrepancyReview,
} from '@cxr/contracts';
import { accessionIndexKey } from '../state/report-index.ts';
import { accessionKeyOf, ObjectNotFoundError, PermanentError, TransientError, type ObjectStore, type Redis } from '@cxr/platform';

/**
 * Where the second read keeps what it takes in and finds. The reports bucket is the system of
 * record, append-only: each final report, each discrepancy and each discrepancy's review is an
 * object of its own, never overwritten (a second review of the same discrepancy is refused).
 * Redis holds the peer-review worklist (written after the objects): a hash per discrepancy and
 * two sorted sets by time, open and reviewed.
 *
 * Keys (under `{QUEUE_PREFIX}:report`): `discrepancy:{id}` (JSON of the stored record and its
 * review), `discrepancies:open` and `discrepancies:reviewed` (score: found at, ms),
 * `accession:{sha256}` (the study UID of an accession number; see report-index.ts).
 */

export const storedFinalReportSchema = z
  .object({
    schemaVersion: z.literal(1),
    id: z.string().regex(/^[a-f0-9]{32}$/),
    studyKey: pseudonymKeySchema,
    studyInstanceUid: dicomUidSchema,
    source: finalReportSourceSchema,
    sourceId: z.string().max(200).nullable(),
    text: z.string(),
    receivedAt: isoDateTimeSchema,
    reportedAt: isoDateTimeSchema.nullable(),
    findings: z.array(z.object({ code: z.string(), reportStatus: reportFindingStatusSchema, agreement: secondReadAgreementSchema }).strict()),
    discrepancyIds: z.array(z.string().regex(/^[a-f0-9]{32}$/)),
  })
  .strict();
export type StoredFinalReport = z.infer<typeof storedFinalReportSchema>;

export const storedDiscrepancySchema = z
  .object({
    schemaVersion: z.literal(1),
    id: z.string().regex(/^[a-f0-9]{32}$/),
    studyKey: pseudonymKeySchema,
    studyInstanceUid: dicomUidSchema,
    finalReportId: z.string().regex(/^[a-f0-9]{32}$/),
    source: finalReportSourceSchema,
    code: z.string().min(1).max(64),
    display: z.string(),
    kind: discrepancyKindSchema,
    reportStatus: reportFindingStatusSchema,
    reportSentence: z.string().max(2000).nullable(),
    sopInstanceUid: dicomUidSchema,
    probability: z.number().min(0).max(1),
    threshold: z.number().min(0).max(1),
    /** Where the finding's heatmap is: its own object in the derived bucket, or inline in the analysis result at this key. */
    heatmapKey: z.string(),
    reportStatusAtArrival: reportStatusSchema,
    createdAt: isoDateTimeSchema,
  })
  .strict();
export type StoredDiscrepancy = z.infer<typeof storedDiscrepancySchema>;

export interface DiscrepancyRecord {
  discrepancy: StoredDiscrepancy;
  review: DiscrepancyReview | null;
}

export class DiscrepancyAlreadyReviewedError extends PermanentError {
  constructor() {
    super('the discrepancy has already been reviewed');
    this.name = 'DiscrepancyAlreadyReviewedError';
  }
}

/** Content-derived ids: a resend of the same report, or a rerun of its comparison, finds the same ones. */
export function finalReportIdOf(studyKey: string, source: string, sourceId: string | undefined, text: string): string {
  return createHash('sha256').update(`${studyKey}\n${source}\n${sourceId ?? ''}\n${text}`).digest('hex').slice(0, 32);
}

export function discrepancyIdOf(finalReportId: string, code: string, sopInstanceUid: string): string {
  return createHash('sha256').update(`${finalReportId}\n${code}\n${sopInstanceUid}`).digest('hex').slice(0, 32);
}

export class SecondReadStore {
  private readonly keyPrefix: string;

  constructor(
    private readonly deps: { objects: ObjectStore; redis: Redis; bucket: string; keyPrefix: string },
  ) {
    this.keyPrefix = `${deps.keyPrefix}:report`;
  }

  async readFinalReport(studyKey: string, id: string): Promise<StoredFinalReport | null> {
    const raw = await this.readJson(objectKeys.finalReport(studyKey, id));
    return raw === null ? null : storedFinalReportSchema.parse(raw);
  }

  /** Writes the discrepancies, then the final report naming them, then the worklist entries. Call under the study lock. */
  async saveFinalReport(report: StoredFinalReport, discrepancies: StoredDiscrepancy[]): Promise<void> {
    for (const d of discrepancies) await this.deps.objects.putJson(this.deps.bucket, objectKeys.discrepancy(d.studyKey, d.id), storedDiscrepancySchema.parse(d));
    await this.deps.objects.putJson(this.deps.bucket, objectKeys.finalReport(report.studyKey, report.id), storedFinalReportSchema.parse(report));
    for (const d of discrepancies) await this.index({ discrepancy: d, review: null });
  }

  /** Records a review once (the object is the record; Redis follows). Call under the study lock. */
  async saveReview(record: DiscrepancyRecord, review: DiscrepancyReview): Promise<DiscrepancyRecord> {
    const key = objectKeys.discrepancyReview(record.discrepancy.studyKey, record.discrepancy.id);
    if (await this.deps.objects.stat(this.deps.bucket, key)) throw new DiscrepancyAlreadyReviewedError();
    await this.deps.objects.putJson(this.deps.bucket, key, discrepancyReviewSchema.parse(review));
    const reviewed = { discrepancy: record.discrepancy, review };
    await this.index(reviewed);
    return reviewed;
  }

  /** Puts a study's discrepancies (and their reviews) back on the worklist from the bucket; returns how many. */
  async reindexStudy(studyKey: string): Promise<number> {
    const keys = await this.deps.objects.list(this.deps.bucket, objectKeys.discrepancyPrefix(studyKey));
    const found = keys.filter((key) => /\/[a-f0-9]{32}\.json$/.test(key));
    for (const key of found) {
      const discrepancy = storedDiscrepancySchema.parse(await this.deps.objects.getJson(this.deps.bucket, key));
      const rawReview = await this.readJson(objectKeys.discrepancyReview(studyKey, discrepancy.id));
      await this.index({ discrepancy, review: rawReview === null ? null : discrepancyReviewSchema.parse(rawReview) });
    }
    return found.length;
  }

  async get(id: string): Promise<DiscrepancyRecord | null> {
    const raw = await this.redisCall(() => this.deps.redis.get(this.recordKey(id)));
    return raw === null ? null : parseRecord(raw);
  }

  /** A page of the worklist, newest first; `before` is the cursor (score|id) of the previous page's last item. */
  async list(status: 'open' | 'reviewed', limit: number, before: { score: number; id: string } | null): Promise<{ items: DiscrepancyRecord[]; next: { score: number; id: string } | null }> {
    const key = this.listKey(status);
    const max = before ? String(before.score) : '+inf';
    const raw = await this.redisCall(() => this.deps.redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, limit + 50));
    const pairs: Array<{ id: string; score: number }> = [];
    for (let i = 0; i + 1 < raw.length; i += 2) pairs.push({ id: raw[i]!, score: Number(raw[i + 1]) });
    // Same score: ordered by id descending (zrevrange's order); skip up to and including the cursor.
    const after = before ? pairs.filter((p) => p.score < before.score || (p.score === before.score && p.id < before.id)) : pairs;
    const page = after.slice(0, limit);
    const records = page.length === 0 ? [] : await this.redisCall(() => this.deps.redis.mget(...page.map((p) => this.recordKey(p.id))));
    const items = records.filter((r): r is string => r !== null).map(parseRecord);
    const last = page[page.length - 1];
    return { items, next: after.length > limit && last ? last : null };
  }

  /** The study UID of an accession number, from the report index (report-index.ts writes it). */
  async studyOfAccession(accessionNumber: string): Promise<string | null> {
    return this.redisCall(() => this.deps.redis.get(accessionIndexKey(this.deps.keyPrefix, accessionKeyOf(accessionNumber))));
  }

  private async index(record: DiscrepancyRecord): Promise<void> {
    const score = Date.parse(record.discrepancy.createdAt);
    const { id } = record.discrepancy;
    await this.redisCall(() =>
      this.deps.redis
        .multi()
        .set(this.recordKey(id), JSON.stringify(record))
        .zrem(this.listKey(record.review ? 'open' : 'reviewed'), id)
        .zadd(this.listKey(record.review ? 'reviewed' : 'open'), score, id)
        .exec(),
    );
  }

  private recordKey(id: string): string {
    return `${this.keyPrefix}:discrepancy:${id}`;
  }

  private listKey(status: 'open' | 'reviewed'): string {
    return `${this.keyPrefix}:discrepancies:${status}`;
  }

  private async redisCall<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw new TransientError(`second-read index unavailable: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }

  private async readJson(key: string): Promise<unknown> {
    try {
      return await this.deps.objects.getJson(this.deps.bucket, key);
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return null;
      throw error;
    }
  }
}

function parseRecord(raw: string): DiscrepancyRecord {
  const value = JSON.parse(raw) as { discrepancy: unknown; review: unknown };
  return { discrepancy: storedDiscrepancySchema.parse(value.discrepancy), review: value.review === null ? null : discrepancyReviewSchema.parse(value.review) };
}
