import { join } from 'node:path';
import { freePort } from './ports.ts';
import { startRedisServer, type RedisServerHandle } from './redis-server.ts';
import { startS3Server, type S3ServerHandle } from './s3-server.ts';
import { REPO_ROOT, startServiceProcess, type ServiceProcess } from './service-process.ts';

export interface StackOptions {
  /** Where redis-server and s3rver keep data and services write logs. */
  dataDir: string;
  /** Fixed ports (npm start) or 0 for free ones (tests). */
  ports?: Partial<Record<'redis' | 's3' | 'dimse' | 'ingestHttp' | 'workerHttp' | 'reportHttp', number>>;
  /** Use an existing Redis / S3 (e.g. real MinIO) instead of starting local ones. */
  redisUrl?: string;
  s3?: { endpoint: string; accessKey: string; secretKey: string; region?: string };
  /** Extra environment for the services (e.g. INGEST_STUDY_STABLE_MS). */
  env?: Record<string, string>;
  workers?: number;
  redisAppendOnly?: boolean;
  resetS3?: boolean;
  echoLogs?: boolean;
}

export interface Stack {
  redisUrl: string;
  s3Endpoint: string;
  dimse: { host: string; port: number; aeTitle: string };
  ingestUrl: string;
  reportUrl: string;
  workerUrls: string[];
  env: Record<string, string>;
  services: ServiceProcess[];
  workers: ServiceProcess[];
  logDir: string;
  startWorker(index: number): Promise<ServiceProcess>;
  stop(): Promise<void>;
}

export const DEFAULT_BUCKETS = { originals: 'dicom-originals', derived: 'cxr-derived', reports: 'cxr-reports' };

async function portOf(options: StackOptions, name: keyof NonNullable<StackOptions['ports']>): Promise<number> {
  const p = options.ports?.[name];
  return p && p > 0 ? p : freePort();
}

/**
 * The whole system on one machine: redis-server, s3rver (or external ones), ingest, N
 * inference workers and the report service, each as a real process. Used by `npm start`,
 * the demo, the end-to-end tests and the benchmarks.
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const host = '127.0.0.1';
  const logDir = join(options.dataDir, 'logs');
  let redis: RedisServerHandle | undefined;
  let s3: S3ServerHandle | undefined;
  const started: ServiceProcess[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.stop()));
    await redis?.stop();
    await s3?.stop();
  };
  try {
    const redisUrl = options.redisUrl ?? (redis = await startRedisServer({ port: await portOf(options, 'redis'), dir: join(options.dataDir, 'redis'), appendonly: options.redisAppendOnly ?? true })).url;
    const s3Settings = options.s3 ?? (s3 = await startS3Server({ port: await portOf(options, 's3'), dir: join(options.dataDir, 's3'), buckets: Object.values(DEFAULT_BUCKETS), reset: options.resetS3 ?? false }));
    const ports = {
      dimse: await portOf(options, 'dimse'),
      ingestHttp: await portOf(options, 'ingestHttp'),
      workerHttp: await portOf(options, 'workerHttp'),
      reportHttp: await portOf(options, 'reportHttp'),
    };
    const reportUrl = `http://${host}:${ports.reportHttp}`;
    const env: Record<string, string> = {
      REDIS_URL: redisUrl,
      S3_ENDPOINT: s3Settings.endpoint,
      S3_ACCESS_KEY: s3Settings.accessKey,
      S3_SECRET_KEY: s3Settings.secretKey,
      S3_REGION: options.s3?.region ?? 'us-east-1',
      BUCKET_ORIGINALS: DEFAULT_BUCKETS.originals,
      BUCKET_DERIVED: DEFAULT_BUCKETS.derived,
      BUCKET_REPORTS: DEFAULT_BUCKETS.reports,
      INGEST_DIMSE_HOST: host,
      INGEST_DIMSE_PORT: String(ports.dimse),
      INGEST_HTTP_HOST: host,
      INGEST_HTTP_PORT: String(ports.ingestHttp),
      WORKER_HTTP_HOST: host,
      REPORT_HTTP_HOST: host,
      REPORT_HTTP_PORT: String(ports.reportHttp),
      REPORT_PUBLIC_URL: reportUrl,
      ...options.env,
    };
    const ingestUrl = `http://${host}:${ports.ingestHttp}`;
    const [ingest, report] = await Promise.all([
      startServiceProcess({ service: 'ingest', env, readyUrl: `${ingestUrl}/readyz`, logDir, echo: options.echoLogs ?? false }),
      startServiceProcess({ service: 'report', env, readyUrl: `${reportUrl}/readyz`, logDir, echo: options.echoLogs ?? false }),
    ]);
    started.push(ingest, report);

    const workers: ServiceProcess[] = [];
    const workerUrls: string[] = [];
    const startWorker = async (index: number) => {
      const port = index === 0 ? ports.workerHttp : await freePort();
      const url = `http://${host}:${port}`;
      const w = await startServiceProcess({
        service: 'inference-worker', name: `inference-worker-${index}`, env: { ...env, WORKER_HTTP_PORT: String(port) },
        readyUrl: `${url}/readyz`, logDir, echo: options.echoLogs ?? false, timeoutMs: 120_000,
      });
      started.push(w);
      workers[index] = w;
      workerUrls[index] = url;
      return w;
    };
    await Promise.all(Array.from({ length: options.workers ?? 1 }, (_, i) => startWorker(i)));

    return {
      redisUrl,
      s3Endpoint: s3Settings.endpoint,
      dimse: { host, port: ports.dimse, aeTitle: env.INGEST_AE_TITLE ?? 'INGEST' },
      ingestUrl,
      reportUrl,
      workerUrls,
      env,
      services: started,
      workers,
      logDir,
      startWorker,
      stop: stopAll,
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

export { REPO_ROOT };
