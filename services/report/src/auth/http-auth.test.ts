import express from 'express';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { errorHandler, createLogger, mintDevToken } from '@cxr/platform';
import { actorOf, createTestAuth, principalOf, READ_ROLES } from './http-auth.ts';

const { auth, token } = await createTestAuth();

function app() {
  const a = express();
  a.get('/read', auth.require(...READ_ROLES), (_req, res) => {
    res.json(actorOf(principalOf(res)));
  });
  a.post('/sign', auth.require('radiologist'), (_req, res) => {
    res.json(principalOf(res));
  });
  a.get('/image.png', auth.requireOrSignedUrl(...READ_ROLES), (_req, res) => {
    res.send('png');
  });
  a.get('/events', auth.requireAllowingQueryToken(...READ_ROLES), (_req, res) => {
    res.send('stream');
  });
  a.use(errorHandler(createLogger('test', 'silent')));
  return a;
}

describe('bearer tokens', () => {
  test('a request without a token gets 401 with a Bearer challenge', async () => {
    const res = await request(app()).get('/read');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body.error.code).toBe('unauthenticated');
  });

  test('a forged token gets 401 invalid-token', async () => {
    const forged = await mintDevToken({ role: 'radiologist', secret: 'another-secret-of-sufficient-length!!' });
    const res = await request(app()).get('/read').set('Authorization', `Bearer ${forged}`);
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('invalid-token');
  });

  test.each([
    ['viewer', '/read', 'get', 200],
    ['integration', '/read', 'get', 200],
    ['viewer', '/sign', 'post', 403],
    ['admin', '/sign', 'post', 403],
    ['radiologist', '/sign', 'post', 200],
  ] as const)('a %s calling %s gets %i', async (role, path, method, status) => {
    const res = await request(app())[method](path).set('Authorization', `Bearer ${await token(role)}`);
    expect(res.status).toBe(status);
  });

  test('the actor is recorded under the most privileged clinical role', async () => {
    const both = await mintDevToken({ role: ['viewer', 'radiologist'], sub: 'r-9', name: 'Dr Nine' });
    const res = await request(app()).get('/read').set('Authorization', `Bearer ${both}`);
    expect(res.body).toEqual({ sub: 'r-9', name: 'Dr Nine', role: 'radiologist' });
  });

  test('a query token is accepted only where EventSource needs it', async () => {
    const viewer = await token('viewer');
    expect((await request(app()).get(`/events?access_token=${viewer}`)).status).toBe(200);
    expect((await request(app()).get(`/read?access_token=${viewer}`)).status).toBe(401);
  });
});

describe('signed URLs', () => {
  test('a signed URL opens its image without a token until it expires', async () => {
    const now = new Date();
    const { url, expiresAt } = auth.signUrl('/image.png?sopInstanceUid=1.2.3', now);
    expect(new Date(expiresAt).getTime() - now.getTime()).toBeLessThanOrEqual(300_000);
    expect((await request(app()).get(url)).status).toBe(200);
    const expired = auth.signUrl('/image.png?sopInstanceUid=1.2.3', new Date(now.getTime() - 301_000)).url;
    expect((await request(app()).get(expired)).status).toBe(401);
  });

  test('a signed URL does not open another image or survive a changed expiry', async () => {
    const { url } = auth.signUrl('/image.png?sopInstanceUid=1.2.3');
    expect((await request(app()).get(url.replace('1.2.3', '1.2.4'))).status).toBe(401);
    const later = url.replace(/expires=(\d+)/, (_m, e: string) => `expires=${Number(e) + 100}`);
    expect((await request(app()).get(later)).status).toBe(401);
  });

  test('an absolute URL is signed over its path and query', async () => {
    const { url } = auth.signUrl('http://reports.example:8090/image.png?sopInstanceUid=1.2.3');
    const path = url.slice('http://reports.example:8090'.length);
    expect((await request(app()).get(path)).status).toBe(200);
  });

  test('a signature is no token for other routes', async () => {
    const { url } = auth.signUrl('/read');
    expect((await request(app()).get(url)).status).toBe(401);
  });
});
