/**
 * Where the standalone viewer gets its bearer token: a link may carry it in the URL fragment
 * (`#token=...`, never sent to a server or written to access logs), which is then moved to
 * sessionStorage (gone when the tab closes) and removed from the address bar; otherwise the
 * person pastes one. The token's claims are decoded only to show who is signed in and until when:
 * the report service verifies every request.
 */

export const TOKEN_STORAGE_KEY = 'cxr-viewer-token';

/** Splits `#token=abc&x=1` into the token and what remains of the fragment (`#x=1`, or ''). */
export function tokenFromFragment(hash: string): { token: string | null; rest: string } {
  const params = new URLSearchParams(hash.replace(/^#/, ''));
  const token = params.get('token');
  params.delete('token');
  const rest = params.toString();
  return { token: token && token.trim() ? token.trim() : null, rest: rest ? `#${rest}` : '' };
}

export interface TokenClaims {
  name: string | null;
  roles: string[];
  /** Expiry, epoch seconds. */
  exp: number | null;
}

function base64UrlDecode(segment: string): string {
  const base64 = segment.replace(/-/g, '+').replace(/_/g, '/').padEnd(Math.ceil(segment.length / 4) * 4, '=');
  const binary = atob(base64);
  return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
}

/** The JWT payload's display claims, or null when the token is not a JWT. Does not verify anything. */
export function decodeTokenClaims(token: string): TokenClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return null;
  try {
    const payload = JSON.parse(base64UrlDecode(parts[1])) as Record<string, unknown>;
    const name = typeof payload.name === 'string' ? payload.name : typeof payload.preferred_username === 'string' ? payload.preferred_username : null;
    const roles = Array.isArray(payload.roles) ? payload.roles.filter((r): r is string => typeof r === 'string') : [];
    return { name, roles, exp: typeof payload.exp === 'number' ? payload.exp : null };
  } catch {
    return null;
  }
}

export function isExpired(claims: TokenClaims | null, nowMs = Date.now()): boolean {
  return claims?.exp != null && claims.exp * 1000 <= nowMs;
}
