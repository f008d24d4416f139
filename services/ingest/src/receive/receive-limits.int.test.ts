/**
 * The receive limits in the running service (real redis-server, s3rver, DCMTK): one memory
 * budget for STOW-RS and DIMSE together, refused data answered with what a sender retries
 * (503 + Retry-After, C-STORE 0xA700), legitimate senders served again once memory is free; and
 * the DIMSE connection settings reaching the server.
 */
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { runDcmtk } from '@cxr/dcmtk';
import { freePort, startRedisServer, startS3Server, stowRs, type RedisServerHandle, type S3ServerHandle } from '@cxr/devstack';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { loadConfig } from '../config.ts';
import { createIngestService, type IngestService } from '../service.ts';

const BUDGET = 400_000;
let dir: string;
let redis: RedisServerHandle;
let s3: S3ServerHandle;
let service: IngestService;
let httpPort: number;
let dimsePort: number;
const buckets = { BUCKET_ORIGINALS: `rb-orig-${process.pid}`, BUCKET_DERIVED: `rb-derived-${process.pid}`, BUCKET_REPORTS: `rb-reports-${process.pid}` };

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ingest-budget-'));
  redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
  s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(buckets), reset: true });
  const config = loadConfig({
    REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, QUEUE_PREFIX: `ingest-budget-${process.pid}`, ...buckets,
    INGEST_DIMSE_PORT: String(await freePort()), INGEST_HTTP_PORT: String(await freePort()), INGEST_STUDY_STABLE_MS: '300',
    INGEST_RECEIVE_MEMORY_BYTES: String(BUDGET), INGEST_STOW_MAX_CONCURRENT: '2', INGEST_STOW_MAX_REQUEST_BYTES: '2000000',
    INGEST_ARTIM_TIMEOUT_MS: '1500', INGEST_MAX_CONNECTIONS_PER_PEER: '6', INGEST_MIN_RECEIVE_BYTES_PER_S: '1000', INGEST_RECEIVE_WINDOW_MS: '500',
  });
  service = createIngestService(config, pino({ level: 'silent' }));
  const address = await service.start();
  httpPort = address.http.port;
  dimsePort = address.dimse.port;
}, 60_000);

afterAll(async () => {
  await service?.stop();
  await redis?.stop();
  await s3?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A STOW-RS request whose body the test writes by hand (and may never finish). */
function openStow(headers: Record<string, string>): { req: http.ClientRequest; response: Promise<{ status: number; retryAfter?: string; body: string }> } {
  // A connection of its own: a pooled one may be one the server is closing after a refusal.
  const req = http.request({ agent: false, host: '127.0.0.1', port: httpPort, method: 'POST', path: '/dicomweb/studies', headers: { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b', ...headers } });
  const response = new Promise<{ status: number; retryAfter?: string; body: string }>((resolve, reject) => {
    req.on('response', (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ...(res.headers['retry-after'] ? { retryAfter: String(res.headers['retry-after']) } : {}), body }));
    });
    req.on('error', reject);
  });
  return { req, response };
}

/** Keeps a held body arriving above the minimum rate (1,000 bytes every 200 ms) until stopped. */
function keepFeeding(req: http.ClientRequest): () => void {
  const timer = setInterval(() => req.write(Buffer.alloc(1000), () => undefined), 200);
  return () => clearInterval(timer);
}

async function reservedBytes(): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  return Number(/^cxr_ingest_receive_reserved_bytes(?:\{[^}]*\})? (\d+)$/m.exec(metrics)?.[1]);
}

/** cxr_ingest_receive_refused_total for one protocol and reason (0 when absent). */
async function refusals(protocol: string, reason: string): Promise<number> {
  const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  const line = metrics.split('\n').find((l) => l.startsWith('cxr_ingest_receive_refused_total{') && l.includes(`protocol="${protocol}"`) && l.includes(`reason="${reason}"`));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

function storescu(file: Buffer): Promise<{ code: number | null; output: string }> {
  const path = join(dir, `instance-${Math.random().toString(36).slice(2)}.dcm`);
  writeFileSync(path, file);
  return runDcmtk('storescu', ['-d', '-aec', 'INGEST', '127.0.0.1', String(dimsePort), path], { timeoutMs: 30_000, allowFailure: true });
}

describe('receive memory budget', () => {
  test('answers a STOW-RS body the budget cannot hold with 503 and Retry-After before reading it, and stores instances that fit', async () => {
    const { req, response } = openStow({ 'Content-Length': String(BUDGET + 1) });
    req.write(Buffer.alloc(1000));
    const answer = await response;
    req.destroy();
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('5');
    expect(answer.body).toMatch(/out-of-memory-budget/);
    const study = makeChestStudy({ seed: 31, size: 128 });
    expect((await stowRs(`http://127.0.0.1:${httpPort}`, [study.file])).status).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`^cxr_ingest_receive_budget_bytes(\\{[^}]*\\})? ${BUDGET}$`, 'm'));
    expect(await refusals('stow-rs', 'memory')).toBeGreaterThanOrEqual(1);
  });

  test('answers a chunked STOW-RS body with 503 and Retry-After once it outgrows the budget while streaming', async () => {
    const { req, response } = openStow({ 'Transfer-Encoding': 'chunked' });
    let written = 0;
    const feed = setInterval(() => {
      if (written < 3 * BUDGET) req.write(Buffer.alloc(50_000), () => undefined);
      written += 50_000;
    }, 5);
    const answer = await response.finally(() => clearInterval(feed));
    req.destroy();
    expect(answer.status).toBe(503);
    expect(answer.retryAfter).toBe('5');
    const study = makeChestStudy({ seed: 32, size: 128 });
    expect((await stowRs(`http://127.0.0.1:${httpPort}`, [study.file])).status).toBe(200);
  });

  test('answers STOW-RS requests beyond the concurrency cap with 503 and Retry-After, and serves them again once one ends', async () => {
    const held = [openStow({ 'Content-Length': '100000' }), openStow({ 'Content-Length': '100000' })];
    for (const h of held) h.req.write(Buffer.alloc(100));
    const stops = held.map((h) => keepFeeding(h.req));
    // Both are being read once their announced lengths are reserved (the gauge is set every second).
    await expect.poll(reservedBytes, { timeout: 10_000, interval: 200 }).toBe(200_000);
    const study = makeChestStudy({ seed: 33, size: 128 });
    const third = await stowRs(`http://127.0.0.1:${httpPort}`, [study.file]);
    expect(third.status).toBe(503);
    for (const stop of stops) stop();
    for (const h of held) h.req.destroy();
    await Promise.allSettled(held.map((h) => h.response));
    let after: { status: number } | undefined;
    for (let attempt = 0; attempt < 50; attempt += 1) {
      after = await stowRs(`http://127.0.0.1:${httpPort}`, [study.file]);
      if (after.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(after?.status).toBe(200);
  });

  test('shares the budget with DIMSE: while a STOW-RS body holds it, a C-STORE gets 0xA700, and succeeds once it is free', async () => {
    const study = makeChestStudy({ seed: 34, size: 256 });
    expect(study.file.length).toBeGreaterThan(BUDGET - 300_000);
    const { req, response } = openStow({ 'Content-Length': '300000' });
    req.write(Buffer.alloc(100));
    const stop = keepFeeding(req);
    // The held body reserved its announced length; storescu's instance does not fit beside it.
    await expect.poll(reservedBytes, { timeout: 10_000, interval: 200 }).toBe(300_000);
    const refused = await storescu(study.file);
    expect(refused.output).toMatch(/DIMSE Status\s*: 0xa700/i);
    expect(refused.code).not.toBe(0);
    expect(await refusals('dimse', 'memory')).toBe(1);
    stop();
    req.destroy();
    await response.catch(() => undefined);
    let stored: { code: number | null; output: string } | undefined;
    for (let attempt = 0; attempt < 50; attempt += 1) {
      stored = await storescu(study.file);
      if (stored.code === 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(stored?.code, stored?.output).toBe(0);
  });

  test('answers a STOW-RS body arriving slower than INGEST_MIN_RECEIVE_BYTES_PER_S with 408 and closes it', async () => {
    const { req, response } = openStow({ 'Content-Length': '100000' });
    const drip = setInterval(() => req.write(Buffer.alloc(10), () => undefined), 100);
    const answer = await response.finally(() => clearInterval(drip));
    req.destroy();
    expect(answer.status).toBe(408);
    expect(answer.body).toMatch(/too-slow/);
    await expect.poll(reservedBytes, { timeout: 10_000, interval: 200 }).toBe(0);
    const study = makeChestStudy({ seed: 35, size: 128 });
    expect((await stowRs(`http://127.0.0.1:${httpPort}`, [study.file])).status).toBe(200);
  });

  test('closes a DIMSE connection that never associates after INGEST_ARTIM_TIMEOUT_MS, and more than INGEST_MAX_CONNECTIONS_PER_PEER at once', async () => {
    const open = (): Promise<{ socket: net.Socket; closed: Promise<void> }> =>
      new Promise((resolve, reject) => {
        const socket = net.connect({ host: '127.0.0.1', port: dimsePort }, () => resolve({ socket, closed }));
        const closed = new Promise<void>((r) => socket.on('close', () => r()));
        socket.on('error', () => undefined);
        socket.once('error', reject);
      });
    const silent = await open();
    await silent.closed; // ARTIM, 1.5 s here
    const held = await Promise.all(Array.from({ length: 6 }, open));
    const seventh = await open();
    await seventh.closed;
    // Closed for the cap, not by ARTIM: the six older ones are all still open.
    expect(held.filter((h) => h.socket.destroyed || h.socket.readyState === 'closed')).toHaveLength(0);
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    const echo = await runDcmtk('echoscu', ['-aec', 'INGEST', '127.0.0.1', String(dimsePort)], { timeoutMs: 30_000, allowFailure: true });
    expect(echo.code, echo.output).toBe(0);
  });
});
