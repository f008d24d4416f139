import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, startRedisServer, type RedisServerHandle } from '@cxr/devstack';
import { createRequestConnection, type Redis } from '@cxr/platform';
import { Pseudonymizer } from '../privacy/pseudonym.ts';
import { StudyRegistry, type InstanceRecord } from './study-registry.ts';

/** The instance index against a real redis-server. */
let dir: string;
let redis: RedisServerHandle;
let connection: Redis;
let testIndex = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'study-registry-int-'));
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  connection = createRequestConnection(redis.url);
  // A request connection fails fast instead of queueing commands: wait until it is up.
  if (connection.status !== 'ready') await once(connection, 'ready');
}, 30_000);

afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Each test gets its own key prefix. */
function registry(): StudyRegistry {
  testIndex += 1;
  return new StudyRegistry(connection, `registry-int-${process.pid}-${testIndex}`, new Pseudonymizer('test secret'));
}

function record(sha256: string): InstanceRecord {
  return {
    sha256,
    objectKey: `studies/1.2.3/1.2.3.4/1.2.3.4.5/${sha256}.dcm`,
    seriesInstanceUid: '1.2.3.4',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1',
    transferSyntaxUid: '1.2.840.10008.1.2.1',
    modality: 'DX',
    bodyPartExamined: 'CHEST',
    viewPosition: 'PA',
    photometricInterpretation: 'MONOCHROME2',
    rows: 2048,
    columns: 2048,
    numberOfFrames: 1,
    hasPixelData: true,
    priority: 'routine',
    receivedAt: '2025-01-01T00:00:00.000Z',
    protocol: 'dimse',
    sender: 'MODALITY',
  };
}

describe('StudyRegistry.recordInstance', () => {
  test('records a new instance once and calls the same bytes sent again a duplicate', async () => {
    const r = registry();
    expect(await r.recordInstance('1.2.3', '1.2.3.4.5', record('a'.repeat(64)))).toBe('stored');
    expect(await r.recordInstance('1.2.3', '1.2.3.4.5', record('a'.repeat(64)))).toBe('duplicate');
    const instances = await r.instances('1.2.3');
    expect([...instances.keys()]).toEqual(['1.2.3.4.5']);
    expect(instances.get('1.2.3.4.5')?.conflicts).toBeUndefined();
  });

  test('keeps the first object current and lists a different one claiming the same UID as a conflict, once', async () => {
    const r = registry();
    await r.recordInstance('1.2.3', '1.2.3.4.5', record('a'.repeat(64)));
    expect(await r.recordInstance('1.2.3', '1.2.3.4.5', record('b'.repeat(64)))).toBe('conflict');
    expect(await r.recordInstance('1.2.3', '1.2.3.4.5', record('b'.repeat(64)))).toBe('conflict');
    const current = (await r.instances('1.2.3')).get('1.2.3.4.5');
    expect(current?.sha256).toBe('a'.repeat(64));
    expect(current?.conflicts).toEqual([record('b'.repeat(64)).objectKey]);
  });

  test('still records after the server forgot its scripts (NOSCRIPT falls back to sending the script)', async () => {
    const r = registry();
    await r.recordInstance('1.2.3', '1.2.3.4.5', record('a'.repeat(64)));
    await connection.script('FLUSH');
    expect(await r.recordInstance('1.2.3', '1.2.3.4.6', record('c'.repeat(64)))).toBe('stored');
    expect(await r.recordInstance('1.2.3', '1.2.3.4.6', record('c'.repeat(64)))).toBe('duplicate');
    expect([...(await r.instances('1.2.3')).keys()].sort()).toEqual(['1.2.3.4.5', '1.2.3.4.6']);
  });
});

describe('StudyRegistry awaiting completion', () => {
  test('marks a study awaiting completion in the same script that records its instance', async () => {
    const r = registry();
    expect(await r.awaitingCompletionSince('1.2.3')).toBeNull();
    await r.recordInstance('1.2.3', '1.2.3.4.5', record('a'.repeat(64)));
    expect(await r.awaitingCompletionSince('1.2.3')).toEqual(expect.any(Number));
    expect(await r.studiesAwaitingCompletion(0)).toEqual(['1.2.3']);
    // Not yet past a grace period of an hour.
    expect(await r.studiesAwaitingCompletion(3_600_000)).toEqual([]);
  });

  test('clears the mark when the completion covered everything stored, and keeps it when an instance came after', async () => {
    const r = registry();
    await r.recordInstance('1.2.3', '1.2.3.4.5', record('a'.repeat(64)));
    const since = (await r.awaitingCompletionSince('1.2.3'))!;
    await r.recordInstance('1.2.3', '1.2.3.4.6', record('b'.repeat(64)));
    await r.completed('1.2.3', since);
    expect(await r.awaitingCompletionSince('1.2.3')).not.toBeNull();
    await r.completed('1.2.3', (await r.awaitingCompletionSince('1.2.3'))!);
    expect(await r.awaitingCompletionSince('1.2.3')).toBeNull();
    expect(await r.studiesAwaitingCompletion(0)).toEqual([]);
  });

  test('does not mark a study again for a duplicate of what it already has', async () => {
    const r = registry();
    await r.recordInstance('1.2.3', '1.2.3.4.5', record('a'.repeat(64)));
    await r.completed('1.2.3', (await r.awaitingCompletionSince('1.2.3'))!);
    await r.recordInstance('1.2.3', '1.2.3.4.5', record('a'.repeat(64)));
    expect(await r.awaitingCompletionSince('1.2.3')).toBeNull();
  });
});
