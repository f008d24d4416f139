import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AuditEntry } from '@cxr/contracts';
import { createRequestConnection, ObjectStore, type Redis } from '@cxr/platform';
import { composeDraft } from '../drafts/compose-draft.ts';
import { analysisCompletedEvent, analysisResult, fixtureImage, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';
import { startBackingServers, type BackingServers } from '../testing/report-service.test-support.ts';
import { applyAnalysisCompleted, applyStudyReceived, type ReportState } from './report-state.ts';
import { ReportStore, RevisionExistsError } from './report-store.ts';

/** ReportStore.commit against a real redis-server and s3rver, on its own bucket and key prefix. */
let servers: BackingServers;
let redis: Redis;
let store: ReportStore;
const bucket = `reports-store-${process.pid}`;
const at = '2026-01-02T03:10:00.000Z';
const actor = { sub: 'cxr-assist', name: 'AI draft', role: 'system' } as const;

beforeAll(async () => {
  servers = await startBackingServers('report-store');
  const objects = new ObjectStore({ endpoint: servers.s3.endpoint, region: 'us-east-1', accessKey: servers.s3.accessKey, secretKey: servers.s3.secretKey });
  await objects.ensureBuckets([bucket]);
  redis = createRequestConnection(servers.redis.url);
  store = new ReportStore({ objects, redis, bucket, keyPrefix: `store-test-${process.pid}` });
});

afterAll(async () => {
  redis?.disconnect();
  await servers?.stop();
});

/** A study with a received state and the transition that adds its first AI draft. */
function study() {
  const studyKey = randomKey();
  const image = fixtureImage();
  const received = (applyStudyReceived(null, studyReceivedEvent(studyKey, 1, [image]), at) as { state: ReportState }).state;
  const result = analysisResult(studyKey, 1, [image]);
  const completed = applyAnalysisCompleted(received, analysisCompletedEvent(result, 'r.json'), composeDraft(result, { composedAt: at }), 1, at);
  if (!completed.applied) throw new Error('not applied');
  const audit: AuditEntry = { at, actor, action: 'ai-draft', revision: 1, detail: 'AI draft became the report' };
  return { studyKey, received, completed, audit };
}

describe('ReportStore.commit', () => {
  test('stores the revision, its audit entry and the state that names it, and indexes the state', async () => {
    const { studyKey, completed, audit } = study();
    await store.commit({ revision: completed.revision, audit, state: completed.state });
    expect(await store.readState(studyKey)).toEqual(completed.state);
    expect(await store.readRevision(studyKey, 1)).toEqual(completed.revision);
    expect(await store.readAudit(studyKey)).toEqual([audit]);
    expect(await store.listRevisions(studyKey)).toEqual([1]);
    expect((await store.lookup(completed.state.identity!.studyInstanceUid))?.revision).toBe(1);
  });

  test('commits a state with no revision and no audit entry', async () => {
    const { studyKey, received } = study();
    await store.commit({ state: received });
    expect(await store.readState(studyKey)).toEqual(received);
    expect(await store.readAudit(studyKey)).toEqual([]);
    expect(await store.listRevisions(studyKey)).toEqual([]);
  });

  test('writes neither audit entry nor state when the revision already exists', async () => {
    const { studyKey, received, completed, audit } = study();
    await store.commit({ state: received });
    await store.commit({ revision: completed.revision, audit, state: completed.state });
    const later: AuditEntry = { ...audit, at: '2026-01-02T03:20:00.000Z', detail: 'a second draft' };
    await expect(store.commit({ revision: completed.revision, audit: later, state: { ...completed.state, version: 2 } })).rejects.toBeInstanceOf(RevisionExistsError);
    expect(await store.readAudit(studyKey)).toEqual([audit]);
    expect(await store.readState(studyKey)).toEqual(completed.state);
  });

  test('refuses a revision of another study than the state', async () => {
    const one = study();
    const other = study();
    await expect(store.commit({ revision: one.completed.revision, state: other.completed.state })).rejects.toThrow(/committed with the state of/);
    expect(await store.listRevisions(one.studyKey)).toEqual([]);
    expect(await store.readState(other.studyKey)).toBeNull();
  });
});
