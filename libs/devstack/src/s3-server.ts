import { mkdirSync } from 'node:fs';
import type { Server } from 'node:http';
import S3rver from 's3rver';
import { ObjectStore } from '@cxr/platform';

export interface S3ServerHandle {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  stop(): Promise<void>;
}

/**
 * The S3-compatible server for local runs and tests (s3rver). Production uses MinIO through the
 * same `minio` client code; see docs/architecture.md for what s3rver lacks.
 */
export async function startS3Server(options: { port: number; dir: string; buckets: string[]; host?: string; reset?: boolean }): Promise<S3ServerHandle> {
  mkdirSync(options.dir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const server = new S3rver({ port: options.port, address: host, directory: options.dir, silent: true, resetOnClose: options.reset ?? false });
  await server.run();
  const handle: S3ServerHandle = {
    endpoint: `http://${host}:${options.port}`,
    accessKey: 'S3RVER',
    secretKey: 'S3RVER',
    async stop() {
      // The S3 client keeps connections alive; close them or close() waits for their timeout.
      (server as unknown as { httpServer?: Server }).httpServer?.closeAllConnections();
      await server.close();
    },
  };
  const store = new ObjectStore({ endpoint: handle.endpoint, region: 'us-east-1', accessKey: handle.accessKey, secretKey: handle.secretKey });
  await store.ensureBuckets(options.buckets);
  return handle;
}
