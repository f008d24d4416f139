import express from 'express';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { authEnvSchema, createLogger, createTokenVerifier, errorHandler, mintDevToken, toAuthConfig } from '@cxr/platform';
import { senderAuth, type SenderAuthOptions } from './sender-auth.ts';

const verifier = createTokenVerifier(toAuthConfig(authEnvSchema.parse({})));

function app(options: SenderAuthOptions) {
  const a = express();
  a.post('/dicomweb/studies', senderAuth(options), (_req, res) => {
    res.json({ sender: res.locals.sender as string });
  });
  a.use(errorHandler(createLogger('test', 'silent')));
  return a;
}

const keys = new Map([['k-123456', 'pacs-east']]);

describe('STOW-RS sender authentication', () => {
  test('accepts an anonymous sender only when nothing is configured or required', async () => {
    expect((await request(app({ apiKeys: new Map(), verifier, required: false })).post('/dicomweb/studies')).body).toEqual({ sender: 'anonymous' });
    const refused = await request(app({ apiKeys: new Map(), verifier, required: true })).post('/dicomweb/studies');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Bearer realm="dicomweb"/);
    expect((await request(app({ apiKeys: keys, verifier, required: false })).post('/dicomweb/studies')).status).toBe(401);
  });

  test.each([
    ['Authorization', 'Bearer k-123456'],
    ['X-API-Key', 'k-123456'],
  ])('names the system whose API key comes in %s', async (header, value) => {
    const res = await request(app({ apiKeys: keys, verifier, required: true })).post('/dicomweb/studies').set(header, value);
    expect(res.body).toEqual({ sender: 'pacs-east' });
  });

  test('accepts a bearer token with the integration role beside API keys', async () => {
    const token = await mintDevToken({ role: 'integration', sub: 'gateway-1' });
    const res = await request(app({ apiKeys: keys, verifier, required: true })).post('/dicomweb/studies').set('Authorization', `Bearer ${token}`);
    expect(res.body).toEqual({ sender: 'token:gateway-1' });
  });

  test('refuses a token without the integration role, and a forged one', async () => {
    const viewer = await mintDevToken({ role: 'viewer' });
    expect((await request(app({ apiKeys: keys, verifier, required: true })).post('/dicomweb/studies').set('Authorization', `Bearer ${viewer}`)).status).toBe(403);
    const forged = await mintDevToken({ role: 'integration', secret: 'not-the-configured-secret-at-all-000' });
    const res = await request(app({ apiKeys: keys, verifier, required: true })).post('/dicomweb/studies').set('Authorization', `Bearer ${forged}`);
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toContain('invalid_token');
  });

  test('refuses wrong credentials even when authentication is optional', async () => {
    const res = await request(app({ apiKeys: new Map(), verifier, required: false })).post('/dicomweb/studies').set('X-API-Key', 'guess');
    expect(res.status).toBe(401);
  });
});
