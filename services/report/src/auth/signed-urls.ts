import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived signed URLs for images the viewer puts in `<img src>` (which cannot carry a bearer
 * token). The signature is an HMAC over the path, the query and the expiry, so a URL cannot be
 * pointed at another study, finding or image, nor kept alive. It authorises one GET of exactly
 * that resource until it expires; it is minted only for a caller who could read the report.
 *
 * Replicas of the report service must share the secret (`REPORT_URL_SIGNING_SECRET`); without
 * one, each process makes its own at startup and URLs die with it (fine for one process).
 */

const EXPIRES = 'expires';
const SIGNATURE = 'signature';

export class UrlSigner {
  private readonly key: Buffer;

  constructor(
    secret: string | Buffer,
    readonly ttlSeconds: number,
  ) {
    this.key = Buffer.isBuffer(secret) ? secret : Buffer.from(secret, 'utf8');
    if (this.key.length < 16) throw new Error('URL signing secret must be at least 16 bytes');
  }

  /** `pathWithQuery` may be a path or an absolute URL; the same form comes back, signed. */
  sign(pathWithQuery: string, now: Date = new Date()): { url: string; expiresAt: string } {
    const expires = Math.floor(now.getTime() / 1000) + this.ttlSeconds;
    const separator = pathWithQuery.includes('?') ? '&' : '?';
    const unsigned = `${pathWithQuery}${separator}${EXPIRES}=${expires}`;
    const signature = this.mac(pathAndQueryOf(unsigned));
    return { url: `${unsigned}&${SIGNATURE}=${signature}`, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** Whether a request's path and query (`req.originalUrl`) carry a valid, unexpired signature. */
  verify(originalUrl: string, now: Date = new Date()): boolean {
    const marker = `&${SIGNATURE}=`;
    const at = originalUrl.lastIndexOf(marker);
    if (at < 0) return false;
    const unsigned = originalUrl.slice(0, at);
    const given = originalUrl.slice(at + marker.length);
    const expires = Number(new URLSearchParams(unsigned.slice(unsigned.indexOf('?') + 1)).get(EXPIRES));
    if (!Number.isSafeInteger(expires) || expires * 1000 <= now.getTime()) return false;
    // Nothing may hide in the signed URL's lifetime: refuse expiries beyond what we mint.
    if (expires * 1000 > now.getTime() + (this.ttlSeconds + 60) * 1000) return false;
    const expected = Buffer.from(this.mac(unsigned), 'utf8');
    const actual = Buffer.from(given, 'utf8');
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }

  private mac(pathAndQuery: string): string {
    return createHmac('sha256', this.key).update(pathAndQuery).digest('base64url');
  }
}

function pathAndQueryOf(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}
