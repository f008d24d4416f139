/**
 * Test support (not a test): a hospital's prebuilt OHIF v3 on one origin. One node HTTP server
 * serves `@ohif/app`'s `dist/` as it ships, a generated `/app-config.js`, our extension's runtime
 * bundle under `/cxr/`, and reverse-proxies `/dicom-web/` to Orthanc's DICOMweb plugin (the PACS)
 * and `/api/` to the report service, so the browser meets no cross-origin request. Also a real
 * Orthanc with DICOMweb (WADO-RS, QIDO-RS) enabled, as the PACS OHIF reads.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { freePort, OrthancProcess } from '@cxr/devstack';

/** Orthanc with its DICOMweb plugin serving QIDO-RS and WADO-RS at `/dicom-web/`. */
export class OrthancPacs extends OrthancProcess {
  static async start(): Promise<OrthancPacs> {
    const launch = {
      httpPort: await freePort(),
      dicomPort: await freePort(),
      dicomWeb: true,
      config: { Name: 'cxr-ohif-test', DicomAet: 'PACS', DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true } },
    };
    const started = await OrthancProcess.launch(launch);
    return new OrthancPacs(launch, started.child, started.dir, started.exited, started.logTail);
  }

  /** `POST /instances`; throws when Orthanc refuses the file. */
  async store(file: Buffer): Promise<void> {
    const answer = await this.request('POST', '/instances', file, 'application/dicom');
    if (answer.status !== 200) throw new Error(`Orthanc refused the instance: ${answer.status} ${JSON.stringify(answer.body).slice(0, 500)}`);
  }
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.woff': 'font/woff',
};

export interface OhifHostOptions {
  /** OHIF's `dist/` (libs/devstack's fetchOhifDist). */
  ohifDist: string;
  /** Folder with cxr-ohif-extension.js/.css, served at `/cxr/`. */
  extensionDir: string;
  /** The `window.config = …` script served as `/app-config.js`. */
  appConfig: string;
  orthancUrl: string;
  reportUrl: string;
}

export interface OhifHost {
  url: string;
  /** Requests the browser made through the proxies, `METHOD path` (for failure messages). */
  proxied: string[];
  stop(): Promise<void>;
}

function proxy(target: string, req: IncomingMessage, res: ServerResponse, proxied: string[]): void {
  const url = new URL(req.url ?? '/', target);
  proxied.push(`${req.method} ${url.pathname}`);
  const headers = { ...req.headers, host: url.host };
  const upstream = request(url, { method: req.method, headers }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers);
    answer.pipe(res);
  });
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'text/plain' });
    res.end(`proxy to ${target} failed: ${error.message}`);
  });
  req.pipe(upstream);
}

function serveFile(root: string, path: string, res: ServerResponse): boolean {
  const file = normalize(join(root, decodeURIComponent(path)));
  if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) return false;
  res.writeHead(200, { 'Content-Type': CONTENT_TYPES[extname(file)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
  createReadStream(file).pipe(res);
  return true;
}

export async function startOhifHost(options: OhifHostOptions): Promise<OhifHost> {
  const proxied: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://host').pathname;
    if (path.startsWith('/dicom-web/')) return proxy(options.orthancUrl, req, res, proxied);
    if (path.startsWith('/api/')) return proxy(options.reportUrl, req, res, proxied);
    if (path === '/app-config.js') {
      res.writeHead(200, { 'Content-Type': CONTENT_TYPES['.js']!, 'Cache-Control': 'no-store' });
      res.end(options.appConfig);
      return;
    }
    if (path.startsWith('/cxr/') && serveFile(options.extensionDir, path.slice('/cxr/'.length), res)) return;
    if (serveFile(options.ohifDist, path, res)) return;
    if (/\.[a-z0-9]+$/i.test(path)) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found');
      return;
    }
    // OHIF is a single-page app: its routes (/viewer, /localbasic, …) are index.html.
    serveFile(options.ohifDist, 'index.html', res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    proxied,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
