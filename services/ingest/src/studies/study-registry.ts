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
  priority: StudyPriority;
  /** SHA-256 of the Accession Number (0008,0050) when the instance carries one (`accessionKeyOf`): the report service finds final reports' studies by it. */
  accessionKey?: string;
  receivedAt: string;
  protocol: 'dimse' | 'stow-rs';
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
const RECORD_INSTANCE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if not existing then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  redis.call('SADD', KEYS[2], ARGV[4])
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
      sopUid,
      JSON.stringify(record),
      record.sha256,
      studyUid,
    ];
    let result: unknown;
    try {
      result = await this.redis.evalsha(RECORD_INSTANCE_SHA1, 3, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      result = await this.redis.eval(RECORD_INSTANCE, 3, ...args);
    }
    return result as 'stored' | 'duplicate' | 'conflict';
  }

  async instances(studyUid: string): Promise<Map<string, InstanceRecord>> {
    const raw = await this.redis.hgetall(this.key('study', studyUid, 'instances'));
    const out = new Map<string, InstanceRecord>();
    for (const [sopUid, json] of Object.entries(raw)) out.set(sopUid, JSON.parse(json) as InstanceRecord);
    return out;
  }

  async analysed(studyUid: string): Promise<AnalysedState | null> {
    const raw = await this.redis.get(this.key('study', studyUid, 'analysed'));
    return raw ? (JSON.parse(raw) as AnalysedState) : null;
  }

  async setAnalysed(studyUid: string, state: AnalysedState): Promise<void> {
    await this.redis.set(this.key('study', studyUid, 'analysed'), JSON.stringify(state));
  }

  async ping(): Promise<boolean> {
    return (await this.redis.ping()) === 'PONG';
  }
}

export function fingerprintOf(instances: Map<string, InstanceRecord>): string {
  return [...instances.entries()].map(([uid, r]) => `${uid}:${r.sha256}`).sort().join(',');
}
