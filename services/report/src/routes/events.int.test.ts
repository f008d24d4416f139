import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Redis } from 'ioredis';
import type { ReportUpdatedEvent } from '@cxr/contracts';
import { createLogger, errorHandler } from '@cxr/platform';
import { freePort, startRedisServer, type RedisServerHandle } from '@cxr/devstack';
import { createTestAuth } from '../auth/index.ts';
import { ReportUpdatesHub } from '../live/report-updates-hub.ts';
import { eventRoutes } from './events.ts';

const CHANNEL = 'events-test:report:updates';
let dir: string;
let redis: RedisServerHandle;
let publisher: Redis;
let hub: ReportUpdatesHub;
let server: Server;
let base: string;
const { auth, token } = await createTestAuth();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'report-events-'));
  redis = await startRedisServer({ port: await freePort(), dir });
  publisher = new Redis(redis.url);
  hub = new ReportUpdatesHub(new Redis(redis.url), CHANNEL, createLogger('test', 'silent'));
  await hub.start();
  const app = express();
  app.use(eventRoutes({ auth, hub, heartbeatMs: 200 }));
  app.use(errorHandler(createLogger('test', 'silent')));
  server = createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await hub.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  publisher.disconnect();
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

function update(studyInstanceUid: string, status: ReportUpdatedEvent['status'], revision: number): ReportUpdatedEvent {
  return { studyInstanceUid, status, priority: 'routine', revision, urgentFindings: [], updatedAt: new Date().toISOString() };
}

/** Reads server-sent events from a stream until `count` of type `type` have arrived. */
async function collect(res: Response, type: string, count: number, timeoutMs = 5000): Promise<{ events: Array<{ event: string; data: string }>; raw: string }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let raw = '';
  const events: Array<{ event: string; data: string }> = [];
  const deadline = Date.now() + timeoutMs;
  while (events.filter((e) => e.event === type).length < count) {
    if (Date.now() > deadline) throw new Error(`timed out; got: ${raw}`);
    const { value, done } = await reader.read();
    if (done) break;
    raw += decoder.decode(value, { stream: true });
    events.length = 0;
    for (const block of raw.split('\n\n').slice(0, -1)) {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event && data !== undefined) events.push({ event, data });
    }
  }
  await reader.cancel();
  return { events, raw };
}

async function waitForListeners(n: number): Promise<void> {
  const deadline = Date.now() + 5000;
  while (hub.size < n) {
    if (Date.now() > deadline) throw new Error('stream never registered');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('GET /api/events', () => {
  test('streams the updates of the study asked for, after a ready event', async () => {
    const res = await fetch(`${base}/api/events?study=1.2.3`, { headers: { Authorization: `Bearer ${await token('viewer')}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await waitForListeners(1);
    await publisher.publish(CHANNEL, JSON.stringify(update('1.2.4', 'draft', 1)));
    await publisher.publish(CHANNEL, JSON.stringify(update('1.2.3', 'draft', 1)));
    await publisher.publish(CHANNEL, 'not json');
    await publisher.publish(CHANNEL, JSON.stringify(update('1.2.3', 'signed', 3)));
    const { events, raw } = await collect(res, 'report-updated', 2);
    expect(events[0]).toEqual({ event: 'ready', data: '{}' });
    const updates = events.filter((e) => e.event === 'report-updated').map((e) => JSON.parse(e.data) as ReportUpdatedEvent);
    expect(updates.map((u) => [u.studyInstanceUid, u.status, u.revision])).toEqual([
      ['1.2.3', 'draft', 1],
      ['1.2.3', 'signed', 3],
    ]);
    expect(raw).not.toContain('1.2.4');
  });

  test('sends a heartbeat comment so proxies keep an idle stream open', async () => {
    const res = await fetch(`${base}/api/events`, { headers: { Authorization: `Bearer ${await token('viewer')}` } });
    const reader = res.body!.getReader();
    let raw = '';
    const deadline = Date.now() + 5000;
    while (!raw.includes(': keep-alive') && Date.now() < deadline) {
      const { value, done } = await reader.read();
      if (done) break;
      raw += new TextDecoder().decode(value);
    }
    await reader.cancel();
    expect(raw).toContain(': keep-alive');
  });

  test('accepts the token as access_token, for EventSource', async () => {
    const res = await fetch(`${base}/api/events?status=signed&access_token=${await token('radiologist')}`);
    expect(res.status).toBe(200);
    await waitForListeners(1);
    await publisher.publish(CHANNEL, JSON.stringify(update('1.2.5', 'draft', 1)));
    await publisher.publish(CHANNEL, JSON.stringify(update('1.2.6', 'signed', 2)));
    const { events } = await collect(res, 'report-updated', 1);
    expect(events.filter((e) => e.event === 'report-updated').map((e) => JSON.parse(e.data).studyInstanceUid)).toEqual(['1.2.6']);
  });

  test('refuses a stream without a token, or with a malformed filter', async () => {
    expect((await fetch(`${base}/api/events`)).status).toBe(401);
    const viewer = { Authorization: `Bearer ${await token('viewer')}` };
    expect((await fetch(`${base}/api/events?study=1.02.x`, { headers: viewer })).status).toBe(400);
    expect((await fetch(`${base}/api/events?status=approved`, { headers: viewer })).status).toBe(400);
  });

  test('forgets a stream once its client goes away', async () => {
    const before = hub.size;
    const controller = new AbortController();
    const res = await fetch(`${base}/api/events`, { headers: { Authorization: `Bearer ${await token('viewer')}` }, signal: controller.signal });
    expect(res.status).toBe(200);
    await waitForListeners(before + 1);
    controller.abort();
    const deadline = Date.now() + 5000;
    while (hub.size > before && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(hub.size).toBe(before);
  });
});
