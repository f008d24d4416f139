import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { TransientError } from './errors.ts';
import { ObjectStore } from './object-store.ts';

/**
 * What ObjectStore.put sends, seen by a small HTTP server that records each request (s3rver does
 * not check SigV4 payload hashes, so the request itself is inspected here; round trips through a
 * real S3 server are in @cxr/devstack's s3-server.int.test.ts and the services' tests).
 */
interface Received {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

let server: Server;
let endpoint: string;
const received: Received[] = [];
let answer: { status: number; body: string } = { status: 200, body: '' };

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(answer.status, { 'Content-Type': 'application/xml' });
      res.end(answer.body);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

const store = () => new ObjectStore({ endpoint, region: 'us-east-1', accessKey: 'ACCESS', secretKey: 'SECRET' });

describe('ObjectStore.put over http', () => {
  test('sends the bytes unchanged in one PUT signed with their SHA-256', async () => {
    answer = { status: 200, body: '' };
    received.length = 0;
    const body = randomBytes(3 * 1024 * 1024 + 5);
    await store().put('originals', 'studies/1/2/3/abc.dcm', body, 'application/dicom', { metadata: { sender: 'MODALITY' } });
    expect(received).toHaveLength(1);
    const [put] = received;
    expect(put).toMatchObject({ method: 'PUT', url: '/originals/studies/1/2/3/abc.dcm' });
    expect(put!.body.equals(body)).toBe(true);
    expect(put!.headers['content-length']).toBe(String(body.length));
    expect(put!.headers['content-type']).toBe('application/dicom');
    expect(put!.headers['x-amz-meta-sender']).toBe('MODALITY');
    expect(put!.headers['x-amz-content-sha256']).toBe(createHash('sha256').update(body).digest('hex'));
    // The payload hash is part of what is signed, so a server that checks it refuses a damaged body.
    expect(put!.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=ACCESS\/\d{8}\/us-east-1\/s3\/aws4_request, SignedHeaders=[^,]*x-amz-content-sha256/);
  });

  test('signs with the SHA-256 the caller gives instead of hashing the body again', async () => {
    answer = { status: 200, body: '' };
    received.length = 0;
    const body = Buffer.from('the bytes');
    const given = createHash('sha256').update(body).digest('hex');
    await store().put('originals', 'a/b', body, 'text/plain', { sha256: given });
    expect(received[0]!.headers['x-amz-content-sha256']).toBe(given);
    // A wrong one is sent as given (a checking server refuses it): the caller's digest is not second-guessed.
    await store().put('originals', 'a/c', body, 'text/plain', { sha256: '0'.repeat(64) });
    expect(received[1]!.headers['x-amz-content-sha256']).toBe('0'.repeat(64));
  });

  test('turns a refusal by the server into a TransientError naming the object', async () => {
    answer = { status: 403, body: '<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>denied</Message></Error>' };
    await expect(store().put('originals', 'a/b', Buffer.from('x'), 'text/plain')).rejects.toThrow(TransientError);
    await expect(store().put('originals', 'a/b', Buffer.from('x'), 'text/plain')).rejects.toThrow(/put originals\/a\/b failed/);
  });
});
