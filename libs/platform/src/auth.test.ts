import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { AuthenticationError, authEnvSchema, createTokenVerifier, DEV_AUTH, mintDevToken, toAuthConfig } from './auth.ts';
import { ConfigError } from './errors.ts';

const devVerifier = createTokenVerifier(toAuthConfig(authEnvSchema.parse({})));

describe('the development issuer', () => {
  test('accepts a token it minted and reads subject, name and roles', async () => {
    const token = await mintDevToken({ role: 'radiologist', sub: 'u-17', name: 'Dr A. Reader' });
    await expect(devVerifier.verify(token)).resolves.toEqual({ sub: 'u-17', name: 'Dr A. Reader', roles: ['radiologist'] });
  });

  test('refuses a token signed with another secret', async () => {
    const token = await mintDevToken({ role: 'admin', secret: 'x'.repeat(40) });
    await expect(devVerifier.verify(token)).rejects.toThrow(/signature does not verify/);
  });

  test('refuses an expired token', async () => {
    const token = await new SignJWT({ roles: ['viewer'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(DEV_AUTH.issuer)
      .setAudience(DEV_AUTH.audience)
      .setSubject('u')
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(DEV_AUTH.secret));
    await expect(devVerifier.verify(token)).rejects.toThrow(/expired/);
  });

  test('refuses a token for another audience or without an expiry', async () => {
    const key = new TextEncoder().encode(DEV_AUTH.secret);
    const otherAudience = await new SignJWT({ roles: ['viewer'] }).setProtectedHeader({ alg: 'HS256' }).setIssuer(DEV_AUTH.issuer).setAudience('elsewhere').setSubject('u').setExpirationTime('1h').sign(key);
    const noExpiry = await new SignJWT({ roles: ['viewer'] }).setProtectedHeader({ alg: 'HS256' }).setIssuer(DEV_AUTH.issuer).setAudience(DEV_AUTH.audience).setSubject('u').sign(key);
    await expect(devVerifier.verify(otherAudience)).rejects.toThrow(AuthenticationError);
    await expect(devVerifier.verify(noExpiry)).rejects.toThrow(AuthenticationError);
  });

  test.each(['', 'not-a-jwt', 'a.b.c', 'x'.repeat(10_000)])('refuses the malformed token %#', async (token) => {
    await expect(devVerifier.verify(token)).rejects.toThrow(AuthenticationError);
  });

  test('keeps only the roles it knows', async () => {
    const token = await new SignJWT({ roles: ['viewer', 'superuser', 42] })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(DEV_AUTH.issuer)
      .setAudience(DEV_AUTH.audience)
      .setSubject('u')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(DEV_AUTH.secret));
    await expect(devVerifier.verify(token)).resolves.toMatchObject({ roles: ['viewer'], name: 'u' });
  });
});

describe('an OIDC issuer', () => {
  let server: Server;
  let jwksUrl: string;
  let privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];
  const issuer = 'https://idp.example.org/realms/hospital';

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    const jwk: JWK = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    server = createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  function verifier() {
    return createTokenVerifier(
      toAuthConfig(authEnvSchema.parse({ AUTH_MODE: 'oidc', AUTH_ISSUER: issuer, AUTH_JWKS_URL: jwksUrl, AUTH_ROLES_CLAIM: 'realm_access.roles', AUTH_NAME_CLAIM: 'name' })),
    );
  }

  test('accepts a token signed with a key from its JWKS, roles from a nested claim', async () => {
    const token = await new SignJWT({ realm_access: { roles: ['radiologist', 'offline_access'] }, name: 'Dr B' })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(issuer)
      .setAudience('cxr')
      .setSubject('b-1')
      .setExpirationTime('5m')
      .sign(privateKey);
    await expect(verifier().verify(token)).resolves.toEqual({ sub: 'b-1', name: 'Dr B', roles: ['radiologist'] });
  });

  test('refuses a dev-issuer token, even one carrying the right issuer name', async () => {
    const forged = await new SignJWT({ realm_access: { roles: ['admin'] } })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(issuer)
      .setAudience('cxr')
      .setSubject('x')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(DEV_AUTH.secret));
    await expect(verifier().verify(forged)).rejects.toThrow(/algorithm not allowed/);
  });

  test('needs an issuer and a JWKS URL', () => {
    expect(() => toAuthConfig(authEnvSchema.parse({ AUTH_MODE: 'oidc' }))).toThrow(ConfigError);
  });
});
