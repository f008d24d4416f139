import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The standalone viewer's browser bundle, built from `@cxr/viewer/standalone` with esbuild in
 * memory (nothing is written to disk, so the service runs on a read-only filesystem and needs no
 * build step before start). One JS file (ES module, React included) and one CSS file.
 */

export interface ViewerAsset {
  body: Buffer;
  contentType: string;
  /** Content hash: ETag and cache-busting query. */
  hash: string;
}

export interface ViewerBundle {
  js: ViewerAsset;
  css: ViewerAsset;
  builtInMs: number;
}

function asset(contents: Uint8Array, contentType: string): ViewerAsset {
  const body = Buffer.from(contents);
  return { body, contentType, hash: createHash('sha256').update(body).digest('base64url').slice(0, 16) };
}

export async function buildViewerBundle(): Promise<ViewerBundle> {
  const started = performance.now();
  const result = await build({
    stdin: { contents: "import '@cxr/viewer/standalone';", resolveDir: dirname(fileURLToPath(import.meta.url)), loader: 'ts', sourcefile: 'viewer-entry.ts' },
    bundle: true,
    write: false,
    outdir: 'viewer-out',
    entryNames: 'viewer',
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    jsx: 'automatic',
    minify: true,
    legalComments: 'none',
    charset: 'utf8',
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'silent',
  });
  const js = result.outputFiles.find((f) => f.path.endsWith('.js'));
  const css = result.outputFiles.find((f) => f.path.endsWith('.css'));
  if (!js || !css) throw new Error(`the viewer bundle lacks its ${js ? 'CSS' : 'JS'} output`);
  return {
    js: asset(js.contents, 'text/javascript; charset=utf-8'),
    css: asset(css.contents, 'text/css; charset=utf-8'),
    builtInMs: Math.round(performance.now() - started),
  };
}
