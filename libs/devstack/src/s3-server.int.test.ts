import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ObjectNotFoundError, ObjectStore, ObjectTooLargeError, TransientError } from '@cxr/platform';
import { freePort } from './ports.ts';
import { startS3Server } from './s3-server.ts';

/** s3rver as devstack starts it, driven through @cxr/platform's ObjectStore (the minio client). */
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 's3-server-int-'));
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe.each([
  ['in the caller\'s thread', false],
  ['on its own thread', true],
])('startS3Server %s', (_where, thread) => {
  const bucket = `s3-int-${thread ? 'thread' : 'here'}-${process.pid}`;

  test('stores objects byte for byte with their content type and metadata, and stops', async () => {
    const s3 = await startS3Server({ port: await freePort(), dir: join(dir, String(thread)), buckets: [bucket], thread });
    try {
      const objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
      const small = randomBytes(39_000);
      const large = randomBytes(9 * 1024 * 1024 + 17);
      await objects.put(bucket, 'a/small.dcm', small, 'application/dicom', { metadata: { sender: 'MODALITY' } });
      await objects.put(bucket, 'a/large.dcm', large, 'application/dicom');
      await objects.put(bucket, 'a/empty', Buffer.alloc(0), 'application/octet-stream');
      expect((await objects.get(bucket, 'a/small.dcm')).equals(small)).toBe(true);
      expect((await objects.get(bucket, 'a/large.dcm')).equals(large)).toBe(true);
      expect((await objects.get(bucket, 'a/empty')).length).toBe(0);
      const info = await objects.stat(bucket, 'a/small.dcm');
      expect(info).toMatchObject({ size: small.length, contentType: 'application/dicom' });
      expect(info?.metadata['sender']).toBe('MODALITY');
      // One GET per read, bounded: an object over the caller's limit is refused, a missing one named.
      await expect(objects.get(bucket, 'a/large.dcm', 1024 * 1024)).rejects.toThrow(ObjectTooLargeError);
      expect((await objects.get(bucket, 'a/small.dcm', small.length)).equals(small)).toBe(true);
      await expect(objects.get(bucket, 'a/small.dcm', small.length - 1)).rejects.toThrow(ObjectTooLargeError);
      await expect(objects.get(bucket, 'a/missing')).rejects.toThrow(ObjectNotFoundError);
    } finally {
      await s3.stop();
    }
    // Stopped means stopped: the port no longer answers.
    const objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
    expect(await objects.ping(bucket)).toBe(false);
  }, 30_000);

  test('refuses a request from an unknown access key', async () => {
    const s3 = await startS3Server({ port: await freePort(), dir: join(dir, `${thread}-auth`), buckets: [bucket], thread });
    try {
      const stranger = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: 'NOBODY', secretKey: 'x' });
      await expect(stranger.put(bucket, 'a/b', Buffer.from('x'), 'text/plain')).rejects.toThrow(TransientError);
      const objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
      expect(await objects.stat(bucket, 'a/b')).toBeNull();
    } finally {
      await s3.stop();
    }
  }, 30_000);
});

describe('listing more than one page of keys from s3rver', () => {
  test('lists every key and every prefix past the 1,000-key page (s3rver cannot page V2 listings on Node 20)', async () => {
    const bucket = `s3-int-list-${process.pid}`;
    const s3 = await startS3Server({ port: await freePort(), dir: join(dir, 'list'), buckets: [bucket] });
    try {
      const objects = new ObjectStore({ endpoint: s3.endpoint, region: 'us-east-1', accessKey: s3.accessKey, secretKey: s3.secretKey });
      const count = 1_003;
      const keys = Array.from({ length: count }, (_, i) => `reports/${String(i).padStart(16, '0')}/state.json`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((key) => objects.put(bucket, key, Buffer.from('{}'), 'application/json')));
      await objects.put(bucket, 'elsewhere/x', Buffer.from('x'), 'text/plain');
      expect((await objects.list(bucket, 'reports/')).sort()).toEqual([...keys].sort());
      const prefixes = await objects.listPrefixes(bucket, 'reports/');
      expect(prefixes).toHaveLength(count);
      expect(new Set(prefixes)).toEqual(new Set(keys.map((key) => key.replace('state.json', ''))));
    } finally {
      await s3.stop();
    }
  }, 60_000);
});

