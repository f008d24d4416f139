import { createHash } from 'node:crypto';
import type { Redis } from '@cxr/platform';
import type { StudyPriority } from '@cxr/contracts';
import type { Pseudonymizer } from '../privacy/pseudonym.ts';

/** What ingest knows about one received instance (kept in Redis; rebuildable from storage). */
export interface InstanceRecord {
  sha256: string;
  objectKey: string;
  seriesInstanceUid: string;
  sopClassUid: string;
  transferSyntaxUid: string;
  modality: string;
  bodyPartExamined: string;
  viewPosition: string;
  photometricInterpretation: string;
  rows: number;
  columns: number;
  numberOfFrames: number;
  hasPixelData: boolean;
  /** Patient's Age in years (capped at 90: older ages identify, PS3.15), when the instance states it. */
  patientAgeYears?: number;
  /** The order's clinical question, scrubbed of identifiers (study-indication.ts), when the instance carries one. */
  indication?: string;
  priority: StudyPriority;
  /** Pseudonym of Patient ID + Issuer of Patient ID (Pseudonymizer.patientKey), when the instance has a Patient ID. */
  patientKey?: string;
  /** Study Date (0008,0020) as sent, `YYYYMMDD`, when present: how old a prior is. */
  studyDate?: string;
  /** SHA-256 of the Accession Number (0008,0050) when the instance carries one (`accessionKeyOf`): the report service finds final reports' studies by it. */
  accessionKey?: string;
  receivedAt: string;
  /** 'recovered': found in the bucket without a record and recorded by the orphan sweep. */
  protocol: 'dimse' | 'stow-rs' | 'recovered' | 'prior-retrieval';
  sender: string;
  /** Object keys of other, different objects that arrived with the same SOP Instance UID. */
  conflicts?: string[];
}

export interface AnalysedState {
  version: number;
  /** Sorted `sopInstanceUid:sha256` of what that version covered. */
  fingerprint: string;
}

// Records the instance unless the same UID is already there. Returns 'stored', 'duplicate'
// (same bytes) or 'conflict' (different bytes: the first stays current, the other is listed).
// A stored instance also marks its study as awaiting completion (KEYS[4], scored by Redis's own
// clock), in the same script: whatever happens to the caller afterwards (a timeout after Redis ran
// the script late, a crash before the completion was scheduled), the reconciler finds the study.
const RECORD_INSTANCE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if not existing then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[4])
  local now = redis.call('TIME')
  redis.call('ZADD', KEYS[4], tonumber(now[1]) * 1000000 + tonumber(now[2]), ARGV[4])
  return 'stored'
end
local current = cjson.decode(existing)
if current.sha256 == ARGV[3] then return 'duplicate' end
local incoming = cjson.decode(ARGV[2])
current.conflicts = current.conflicts or {}
for _, k in ipairs(current.conflicts) do
  if k == incoming.objectKey then return 'conflict' end
end
table.insert(current.conflicts, incoming.objectKey)
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(current))
redis.call('SADD', KEYS[3], ARGV[4])
return 'conflict'
`;
const RECORD_INSTANCE_SHA1 = createHash('sha1').update(RECORD_INSTANCE).digest('hex');

// Clears a study's "awaiting completion" mark only if no instance was stored since it was read.
const CLEAR_PENDING = `
local score = redis.call('ZSCORE', KEYS[1], ARGV[1])
if score and tonumber(score) <= tonumber(ARGV[2]) then
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
return 0
`;

/**
 * The study/instance index in Redis. Keys use the study UID (identifiable data stays on the
 * ingest side); everything handed on uses the pseudonymous study key.
 */
export class StudyRegistry {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly pseudonyms: Pseudonymizer,
  ) {}

  studyKey(studyInstanceUid: string): string {
    return this.pseudonyms.studyKey(studyInstanceUid);
  }

  instanceKey(sopInstanceUid: string): string {
    return this.pseudonyms.instanceKey(sopInstanceUid);
  }

  /** The stable replacement of a UID in de-identified metadata. */
  replacementUid(uid: string): string {
    return this.pseudonyms.dicomUid(uid);
  }

  /** The pseudonym a patient is matched by across studies (Patient ID + issuer, never the name). */
  patientKey(patientId: string | undefined, issuer: string | undefined): string | undefined {
    return this.pseudonyms.patientKey(patientId, issuer);
  }

  private key(...parts: string[]): string {
    return [this.prefix, 'ingest', ...parts].join(':');
  }

  /**
   * One round trip per instance: the script is called by its SHA-1 (EVALSHA) and sent in full
   * only when the server does not have it yet (NOSCRIPT: after a restart or SCRIPT FLUSH).
   */
  async recordInstance(studyUid: string, sopUid: string, record: InstanceRecord): Promise<'stored' | 'duplicate' | 'conflict'> {
    const args = [
      this.key('study', studyUid, 'instances'),
      this.key('studies'),
      this.key('conflicted-studies'),
      this.key('awaiting-completion'),
      sopUid,
      JSON.stringify(record),
      record.sha256,
      studyUid,
    ];
    let result: unknown;
    try {
      result = await this.redis.evalsha(RECORD_INSTANCE_SHA1, 4, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      result = await this.redis.eval(RECORD_INSTANCE, 4, ...args);
    }
    return result as 'stored' | 'duplicate' | 'conflict';
  }

  /** The record of one instance, if there is one. */
  async instance(studyUid: string, sopUid: string): Promise<InstanceRecord | null> {
    const raw = await this.redis.hget(this.key('study', studyUid, 'instances'), sopUid);
    return raw ? (JSON.parse(raw) as InstanceRecord) : null;
  }

  /**
   * When the study's latest instance was stored (Redis time in µs: two records never share a value,
   * Redis runs one script at a time) if its completion has not run since; null when it has.
   */
  async awaitingCompletionSince(studyUid: string): Promise<number | null> {
    const score = await this.redis.zscore(this.key('awaiting-completion'), studyUid);
    return score === null ? null : Number(score);
  }

  /** Studies whose latest instance was stored at least `graceMs` ago and that have not been completed since. */
  async studiesAwaitingCompletion(graceMs: number, limit = 1000): Promise<string[]> {
    const [seconds, micros] = await this.redis.time();
    const cutoff = Number(seconds) * 1_000_000 + Number(micros) - graceMs * 1000;
    return this.redis.zrangebyscore(this.key('awaiting-completion'), '-inf', cutoff, 'LIMIT', 0, limit);
  }

  /** The study's completion ran over what was stored up to `since` (from `awaitingCompletionSince`). */
  async completed(studyUid: string, since: number): Promise<void> {
    await this.redis.eval(CLEAR_PENDING, 1, this.key('awaiting-completion'), studyUid, String(since));
  }

  async instances(studyUid: string): Promise<Map<string, InstanceRecord>> {
    const raw = await this.redis.hgetall(this.key('study', studyUid, 'instances'));
    const out = new Map<string, InstanceRecord>();
    for (const [sopUid, json] of Object.entries(raw)) out.set(sopUid, JSON.parse(json) as InstanceRecord);
    return out;
  }

  /**
   * Indexes a study under its patient's pseudonym (study UID → Study Date), so that a later study of
   * the same patient finds it as a prior. Idempotent; the index holds no patient identifier.
   */
  async indexPatientStudy(patientKey: string, studyUid: string, studyDate: string): Promise<void> {
    await this.redis.hset(this.key('patient', patientKey, 'studies'), studyUid, studyDate);
  }

  /** The patient's studies in ingest's own store: study UID → Study Date (`YYYYMMDD`, or '' when unknown). */
  async patientStudies(patientKey: string): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.redis.hgetall(this.key('patient', patientKey, 'studies'))));
  }

  /**
   * Marks a study as fetched from a PACS as another study's prior: its own completion then does not
   * look for priors again (which would walk back through the patient's whole history).
   */
  async markRetrievedPrior(studyUid: string): Promise<void> {
    await this.redis.set(this.key('study', studyUid, 'retrieved-prior'), '1');
  }

  async isRetrievedPrior(studyUid: string): Promise<boolean> {
    return (await this.redis.exists(this.key('study', studyUid, 'retrieved-prior'))) === 1;
  }

  async analysed(studyUid: string): Promise<AnalysedState | null> {
    const raw = await this.redis.get(this.key('study', studyUid, 'analysed'));
    return raw ? (JSON.parse(raw) as AnalysedState) : null;
  }

  async setAnalysed(studyUid: string, state: AnalysedState): Promise<void> {
    await this.redis.set(this.key('study', studyUid, 'analysed'), JSON.stringify(state));
  }

  /**
   * Whether Redis takes a write now (readiness): a PING is answered even while writes are paused
   * (CLIENT PAUSE WRITE, a replica failing over), when no instance could be recorded.
   */
  async ping(): Promise<boolean> {
    return (await this.redis.set(this.key('ready-probe'), '1', 'PX', 10_000)) === 'OK';
  }
}

export function fingerprintOf(instances: Map<string, InstanceRecord>): string {
  return [...instances.entries()].map(([uid, r]) => `${uid}:${r.sha256}`).sort().join(',');
}
