import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import S3rver from 's3rver';
import { ObjectStore } from '@cxr/platform';

export interface S3ServerHandle {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

export interface S3ServerOptions {
  port: number;
  dir: string;
  buckets: string[];
  host?: string;
  reset?: boolean;
  /**
   * Run s3rver on its own thread (own event loop and heap) instead of the caller's, the way the
   * object store is a separate server in production. For benchmarks: an in-process s3rver does
   * its request handling, MD5 and file writes on the event loop of the service under test.
   */
  thread?: boolean;
}

const require = createRequire(import.meta.url);

/**
 * The S3-compatible server for local runs and tests (s3rver). Production uses MinIO through the
 * same `minio` client code; see docs/architecture.md for what s3rver lacks.
 *
 * s3rver's per-request access log (koa-logger feeding a winston console transport) is removed:
 * with `silent` it printed nothing but still ran for every request.
 */
export async function startS3Server(options: S3ServerOptions): Promise<S3ServerHandle> {
  mkdirSync(options.dir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const s3rverOptions = { port: options.port, address: host, directory: options.dir, silent: true, resetOnClose: options.reset ?? false };
  const stop = options.thread ? await runOnThread(s3rverOptions) : await runHere(s3rverOptions);
  const handle: S3ServerHandle = { endpoint: `http://${host}:${options.port}`, accessKey: 'S3RVER', secretKey: 'S3RVER', stop };
  const store = new ObjectStore({ endpoint: handle.endpoint, region: 'us-east-1', accessKey: handle.accessKey, secretKey: handle.secretKey });
  try {
    await store.ensureBuckets(options.buckets);
  } catch (error) {
    await stop();
    throw error;
  }
  return handle;
}

type S3rverOptions = { port: number; address: string; directory: string; silent: boolean; resetOnClose: boolean };

async function runHere(s3rverOptions: S3rverOptions): Promise<() => Promise<void>> {
  const server = new S3rver(s3rverOptions);
  withoutAccessLog(server as unknown as KoaApp);
  await server.run();
  return async () => {
    // The S3 client keeps connections alive; close them or close() waits for their timeout.
    (server as unknown as { httpServer?: Server }).httpServer?.closeAllConnections();
    await server.close();
  };
}

interface KoaApp {
  middleware: ((...args: unknown[]) => unknown)[];
}

/** s3rver installs koa-logger (an `async function logger`) first; nothing else it installs has that name. */
function withoutAccessLog(app: KoaApp): void {
  const index = app.middleware.findIndex((fn) => fn.name === 'logger');
  if (index >= 0) app.middleware.splice(index, 1);
}

// The thread's code is plain CommonJS (no TypeScript loader in a worker), given the resolved
// s3rver path so that it loads the same package as this module.
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const S3rver = require(workerData.s3rverPath);
const server = new S3rver(workerData.options);
const index = server.middleware.findIndex((fn) => fn.name === 'logger');
if (index >= 0) server.middleware.splice(index, 1);
server.run().then(
  () => parentPort.postMessage({ kind: 'ready' }),
  (error) => parentPort.postMessage({ kind: 'failed', message: String(error && error.stack || error) }),
);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  if (server.httpServer) server.httpServer.closeAllConnections();
  server.close().then(
    () => parentPort.postMessage({ kind: 'stopped' }),
    (error) => parentPort.postMessage({ kind: 'stopped', message: String(error) }),
  );
});
`;

type ThreadMessage = { kind: 'ready' | 'failed' | 'stopped'; message?: string };

async function runOnThread(s3rverOptions: S3rverOptions): Promise<() => Promise<void>> {
  const worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { s3rverPath: require.resolve('s3rver'), options: s3rverOptions } });
  const next = (): Promise<ThreadMessage> =>
    new Promise((resolve, reject) => {
      const onExit = (code: number) => reject(new Error(`s3rver thread exited (code ${code})`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (message: ThreadMessage) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        resolve(message);
      });
    });
  const started = await next().catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  if (started.kind !== 'ready') {
    await worker.terminate();
    throw new Error(`s3rver did not start: ${started.message ?? started.kind}`);
  }
  let stopped: Promise<void> | undefined;
  return () =>
    (stopped ??= (async () => {
      const closed = next().catch(() => undefined);
      worker.postMessage('stop');
      await closed;
      await worker.terminate();
    })());
}
