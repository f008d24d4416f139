import { resolve } from 'node:path';
import { buildRuntimeBundle } from './runtime-bundle.ts';

// `npm run build -w @cxr/ohif-extension [-- <outDir>]`: the prebuilt-OHIF bundle, default `dist/`.
const outDir = resolve(process.argv[2] ?? 'dist');
const bundle = await buildRuntimeBundle(outDir);
console.log(`wrote ${bundle.js} and ${bundle.css} (${Math.round(bundle.bytes / 1024)} KiB, ${bundle.builtInMs} ms)`);
