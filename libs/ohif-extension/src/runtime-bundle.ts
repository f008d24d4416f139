import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * Builds the runtime extension (`runtime-extension.ts`) for a prebuilt OHIF: one ES module,
 * `cxr-ohif-extension.js` (React and react-dom included, minified), and its stylesheet
 * `cxr-ohif-extension.css`, written to `outDir`. Serve both from one folder and name the JS file's
 * URL in OHIF's `window.config.extensions` (see README).
 */

export const RUNTIME_BUNDLE_JS = 'cxr-ohif-extension.js';
export const RUNTIME_BUNDLE_CSS = 'cxr-ohif-extension.css';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface RuntimeBundle {
  js: string;
  css: string;
  bytes: number;
  builtInMs: number;
}

export async function buildRuntimeBundle(outDir: string): Promise<RuntimeBundle> {
  const started = performance.now();
  const result = await build({
    stdin: {
      contents: "import '@cxr/viewer/viewer.css';\nexport { default } from './runtime-extension.ts';\n",
      resolveDir: HERE,
      loader: 'ts',
      sourcefile: 'cxr-ohif-extension.ts',
    },
    bundle: true,
    write: false,
    outdir: outDir,
    entryNames: 'cxr-ohif-extension',
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
  if (!js || !css) throw new Error(`the OHIF extension bundle lacks its ${js ? 'CSS' : 'JS'} output`);
  mkdirSync(outDir, { recursive: true });
  const jsPath = join(outDir, RUNTIME_BUNDLE_JS);
  const cssPath = join(outDir, RUNTIME_BUNDLE_CSS);
  writeFileSync(jsPath, js.contents);
  writeFileSync(cssPath, css.contents);
  return { js: jsPath, css: cssPath, bytes: js.contents.byteLength + css.contents.byteLength, builtInMs: Math.round(performance.now() - started) };
}
