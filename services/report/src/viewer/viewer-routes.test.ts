import express from 'express';
import request from 'supertest';
import { describe, expect, test } from 'vitest';
import { buildViewerBundle, type ViewerBundle } from './viewer-bundle.ts';
import { contentSecurityPolicy, viewerRoutes } from './viewer-routes.ts';

function appWith(options: Parameters<typeof viewerRoutes>[0] = {}) {
  const app = express();
  app.use(viewerRoutes(options));
  return app;
}

describe('the standalone viewer routes', () => {
  // One real esbuild build shared by the tests that only look at what is served.
  let built: Promise<ViewerBundle> | undefined;
  const sharedBuild = () => (built ??= buildViewerBundle());

  test('serve the page without a token, with a strict Content-Security-Policy and links to the hashed assets', async () => {
    const app = appWith({ publicUrl: 'http://reports.example:8090', buildBundle: sharedBuild });
    const res = await request(app).get('/viewer?study=1.2.3').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = res.headers['content-security-policy'];
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("img-src 'self' http://reports.example:8090");
    const bundle = await sharedBuild();
    expect(res.text).toContain(`/viewer/viewer.js?v=${bundle.js.hash}`);
    expect(res.text).toContain(`/viewer/viewer.css?v=${bundle.css.hash}`);
    expect(res.text).toContain('id="cxr-viewer-root"');
    // No inline script or style: the CSP would block it.
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(res.text).not.toMatch(/<style|style="/);
  });

  test('serve a JS bundle with React and the viewer components, and the viewer CSS', async () => {
    const app = appWith({ buildBundle: sharedBuild });
    const js = await request(app).get('/viewer/viewer.js').expect(200);
    expect(js.headers['content-type']).toMatch(/^text\/javascript/);
    expect(js.text.length).toBeGreaterThan(100_000);
    expect(js.text).toContain('cxr-viewer-root');
    expect(js.text).toContain('AI-generated draft');
    // Production React, no development warnings code.
    expect(js.text).not.toContain('react-dom.development');
    const css = await request(app).get('/viewer/viewer.css').expect(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect(css.text).toContain('.cxr-image-stack');
  });

  test('answer 304 to a request that already has the current asset', async () => {
    const app = appWith({ buildBundle: sharedBuild });
    const first = await request(app).get('/viewer/viewer.css').expect(200);
    expect(first.headers.etag).toBeTruthy();
    await request(app).get('/viewer/viewer.css').set('If-None-Match', first.headers.etag!).expect(304);
  });

  test('build the bundle once for concurrent first requests, and again after a failed build', async () => {
    let calls = 0;
    let fail = true;
    const app = appWith({
      buildBundle: async () => {
        calls += 1;
        if (fail) throw new Error('esbuild failed');
        return sharedBuild();
      },
    });
    app.use((_err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ error: { code: 'internal', message: 'build failed' } });
    });
    await request(app).get('/viewer').expect(500);
    expect(calls).toBe(1);
    fail = false;
    await Promise.all([request(app).get('/viewer').expect(200), request(app).get('/viewer/viewer.js').expect(200), request(app).get('/viewer/viewer.css').expect(200)]);
    expect(calls).toBe(2);
  });

  test('the policy without a public URL allows only the page origin', () => {
    expect(contentSecurityPolicy()).toContain("img-src 'self';");
    expect(contentSecurityPolicy('not a url')).toContain("connect-src 'self';");
  });
});
