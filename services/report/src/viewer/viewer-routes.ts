import express, { type Request, type Response, type Router } from 'express';
import { buildViewerBundle, type ViewerAsset, type ViewerBundle } from './viewer-bundle.ts';

/**
 * `GET /viewer` (the standalone review page), `/viewer/viewer.js` and `/viewer/viewer.css`.
 * The page itself needs no token: it holds no data, and every API call it makes carries the
 * reader's bearer token. The bundle is built on the first request and kept in memory; a failed
 * build is retried on the next request. A strict Content-Security-Policy allows only this
 * origin's script and style and no inline code; images may also come from the service's public
 * URL (the signed preview/overlay URLs are absolute).
 */

export interface ViewerRoutesOptions {
  /** The report service's public URL (REPORT_PUBLIC_URL): image and API URLs may point there. */
  publicUrl?: string;
  /** Builds the bundle; tests may count or slow builds. */
  buildBundle?: () => Promise<ViewerBundle>;
}

function originOf(url: string | undefined): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}

export function contentSecurityPolicy(publicUrl?: string): string {
  const extra = originOf(publicUrl);
  const self = extra ? `'self' ${extra}` : `'self'`;
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    `img-src ${self}`,
    `connect-src ${self}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function viewerPage(bundle: ViewerBundle, apiBase = ''): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>CXR Assist: report review</title>
<link rel="stylesheet" href="/viewer/viewer.css?v=${bundle.css.hash}">
<script type="module" src="/viewer/viewer.js?v=${bundle.js.hash}"></script>
</head>
<body>
<div id="cxr-viewer-root" data-api-base="${escapeHtml(apiBase)}"></div>
<noscript>The report viewer needs JavaScript.</noscript>
</body>
</html>
`;
}

export function viewerRoutes(options: ViewerRoutesOptions = {}): Router {
  const router = express.Router();
  const csp = contentSecurityPolicy(options.publicUrl);
  const buildBundle = options.buildBundle ?? buildViewerBundle;
  let pending: Promise<ViewerBundle> | null = null;

  const bundle = (): Promise<ViewerBundle> => {
    pending ??= buildBundle().catch((error: unknown) => {
      pending = null; // try again on the next request
      throw error;
    });
    return pending;
  };

  const securityHeaders = (res: Response) =>
    res.set({
      'Content-Security-Policy': csp,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
    });

  const sendAsset = (req: Request, res: Response, asset: ViewerAsset) => {
    const etag = `"${asset.hash}"`;
    securityHeaders(res).set({ ETag: etag, 'Cache-Control': 'no-cache' });
    if (req.headers['if-none-match'] === etag) {
      res.status(304).end();
      return;
    }
    res.type(asset.contentType).send(asset.body);
  };

  router.get('/viewer', async (_req, res) => {
    const page = viewerPage(await bundle());
    securityHeaders(res).set('Cache-Control', 'no-cache').type('html').send(page);
  });
  router.get('/viewer/viewer.js', async (req, res) => sendAsset(req, res, (await bundle()).js));
  router.get('/viewer/viewer.css', async (req, res) => sendAsset(req, res, (await bundle()).css));
  return router;
}
