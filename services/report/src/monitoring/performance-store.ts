import type { Redis } from '@cxr/platform';

/**
 * Durable counts of how each model version does, in hourly buckets in Redis, so a report over any
 * window (`GET /api/model-performance?window=7d`) is a sum of buckets and survives restarts of
 * the service. One hash per role, model version and hour (`{prefix}:perf:{role}:{model}:{hour}`);
 * its fields are counters (`f:{code}:pos`, `review:accepted:{code}`, ...; see performance-fields.ts).
 *
 * Each record is applied once: a Lua script sets a marker keyed by what the record is about (an
 * analysis id, a study version, a signed report) and only then increments, atomically, so a
 * retried event or two replicas handling the same one count it once. Buckets and markers expire
 * after the retention period.
 */

export type ModelRole = 'active' | 'shadow';

/** Counter increments for one record, by field. */
export type FieldCounts = Map<string, number>;

export interface PerformanceStoreOptions {
  redis: Redis;
  /** QUEUE_PREFIX. */
  keyPrefix: string;
  /** How long buckets and markers are kept (REPORT_PERFORMANCE_RETENTION_DAYS). */
  retentionDays: number;
  /** The clock the retention is counted from. */
  now?: () => Date;
}

export const HOUR_MS = 3_600_000;
/** The longest window one report reads (hourly buckets: 92 days is 2,208 hash reads per version). */
export const MAX_WINDOW_MS = 92 * 24 * HOUR_MS;

const RECORD_ONCE = `
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
for i = 3, #ARGV, 2 do redis.call('HINCRBY', KEYS[2], ARGV[i], ARGV[i + 1]) end
redis.call('EXPIRE', KEYS[2], ARGV[1])
redis.call('SADD', KEYS[3], ARGV[2])
return 1`;

const MODEL = /^[A-Za-z0-9._-]{1,128}@[A-Za-z0-9.+-]{1,64}$|^unknown$/;

export class PerformanceStore {
  private readonly prefix: string;
  private readonly ttlSeconds: number;

  constructor(private readonly options: PerformanceStoreOptions) {
    this.prefix = `${options.keyPrefix}:perf`;
    this.ttlSeconds = Math.round(options.retentionDays * 24 * 3600);
  }

  /**
   * Adds `counts` to the bucket of `model` at `at`, unless a record with `recordId` was applied
   * before. Resolves true when it was applied now.
   */
  async record(recordId: string, role: ModelRole, model: string, at: Date, counts: FieldCounts): Promise<boolean> {
    if (!MODEL.test(model)) throw new Error(`not a model version: ${JSON.stringify(model).slice(0, 80)}`);
    const hour = Math.floor(at.getTime() / HOUR_MS);
    if (!Number.isFinite(hour)) throw new Error('record time is not a date');
    // Older than the retention (a rebuild from old reports): it would only be dropped again.
    if (at.getTime() < (this.options.now?.() ?? new Date()).getTime() - this.ttlSeconds * 1000) return false;
    const args: string[] = [String(this.ttlSeconds), `${role}|${model}`];
    for (const [field, n] of counts) if (n !== 0) args.push(field, String(n));
    const applied = await this.options.redis.eval(
      RECORD_ONCE,
      3,
      `${this.prefix}:seen:${recordId}`,
      this.bucketKey(role, model, hour),
      `${this.prefix}:models`,
      ...args,
    );
    return applied === 1;
  }

  /** Every (role, model) that has been recorded (within the retention). */
  async models(): Promise<Array<{ role: ModelRole; model: string }>> {
    const members = await this.options.redis.smembers(`${this.prefix}:models`);
    return members
      .map((member) => {
        const [role, model] = member.split('|') as [string, string];
        return { role: role as ModelRole, model };
      })
      .filter((m) => (m.role === 'active' || m.role === 'shadow') && MODEL.test(m.model))
      .sort((a, b) => a.model.localeCompare(b.model) || a.role.localeCompare(b.role));
  }

  /**
   * The sums of every field of `model` over the window, in whole hours: an hour counts when it
   * starts after `since` and no later than `until`, so the hour running now counts, and windows
   * that follow one another never share an hour.
   */
  async sum(role: ModelRole, model: string, since: Date, until: Date): Promise<FieldCounts> {
    const first = Math.floor(since.getTime() / HOUR_MS) + 1;
    const last = Math.floor(until.getTime() / HOUR_MS);
    if (last - first + 1 > MAX_WINDOW_MS / HOUR_MS + 1) throw new Error('window longer than the store reads');
    const totals: FieldCounts = new Map();
    if (last < first) return totals;
    const pipeline = this.options.redis.pipeline();
    for (let hour = first; hour <= last; hour++) pipeline.hgetall(this.bucketKey(role, model, hour));
    for (const [error, value] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      for (const [field, n] of Object.entries(value as Record<string, string>)) totals.set(field, (totals.get(field) ?? 0) + Number(n));
    }
    return totals;
  }

  private bucketKey(role: ModelRole, model: string, hour: number): string {
    return `${this.prefix}:${role}:${model}:${hour}`;
  }
}
