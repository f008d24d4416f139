import { describe, expect, test } from 'vitest';
import { decodeTokenClaims, isExpired, tokenFromFragment } from './token-source.ts';

function jwt(payload: object): string {
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'HS256', typ: 'JWT' })}.${enc(payload)}.c2lnbmF0dXJl`;
}

describe('the viewer token source', () => {
  test('takes the token out of the URL fragment and keeps the rest of the fragment', () => {
    expect(tokenFromFragment('#token=abc.def.ghi')).toEqual({ token: 'abc.def.ghi', rest: '' });
    expect(tokenFromFragment('#panel=2&token=abc')).toEqual({ token: 'abc', rest: '#panel=2' });
    expect(tokenFromFragment('')).toEqual({ token: null, rest: '' });
    expect(tokenFromFragment('#token=')).toEqual({ token: null, rest: '' });
  });

  test('reads the display claims of a JWT, including a non-ASCII name', () => {
    const claims = decodeTokenClaims(jwt({ sub: 'u1', name: 'Dr Zoë Test', roles: ['radiologist', 7], exp: 2_000_000_000 }));
    expect(claims).toEqual({ name: 'Dr Zoë Test', roles: ['radiologist'], exp: 2_000_000_000 });
    expect(isExpired(claims, 1_000)).toBe(false);
    expect(isExpired(claims, 2_000_000_000_000)).toBe(true);
  });

  test('treats something that is not a JWT as having no claims and no expiry', () => {
    expect(decodeTokenClaims('opaque-token')).toBeNull();
    expect(decodeTokenClaims('a.%%%.c')).toBeNull();
    expect(isExpired(null)).toBe(false);
  });
});
