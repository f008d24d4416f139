/**
 * `npm start`: the whole system on this machine with embedded defaults.
 *
 * Starts a local redis-server (installing Debian's package when missing and running as root),
 * an S3-compatible server (s3rver) with its buckets, the ingest service, one inference worker
 * with the reference model, and the report service, then prints where each listens.
 * Set REDIS_URL or S3_ENDPOINT (+ S3_ACCESS_KEY/S3_SECRET_KEY) to use a real Redis / MinIO.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT, redisServerBinary, startStack } from '@cxr/devstack';

function ensureRedisServer(): void {
  if (process.env.REDIS_URL || redisServerBinary()) return;
  const isRoot = process.getuid?.() === 0;
  const hasApt = spawnSync('sh', ['-c', 'command -v apt-get'], { encoding: 'utf8' }).status === 0;
  if (!isRoot || !hasApt) {
    console.error(
      'redis-server is not installed. Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`; ' +
        'macOS: `brew install redis`) or point REDIS_URL at an existing Redis 6.2+ and run `npm start` again.',
    );
    process.exit(1);
  }
  console.log('redis-server not found: installing Debian package redis-server ...');
  for (const args of [['update', '-qq'], ['install', '-y', '-qq', 'redis-server']]) {
    const r = spawnSync('apt-get', args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) {
      console.error(`apt-get ${args.join(' ')} failed; install redis-server yourself or set REDIS_URL.`);
      process.exit(1);
    }
  }
}

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    console.error(`${name}: malformed setting ${JSON.stringify(v)} (expected a port number)`);
    process.exit(1);
  }
  return n;
}

ensureRedisServer();
const dataDir = process.env.CXR_DATA_DIR ?? join(REPO_ROOT, '.data');
const passthrough = Object.fromEntries(
  Object.entries(process.env).filter(([k, v]) => /^(INGEST_|WORKER_|REPORT_|PSEUDONYM_|QUEUE_PREFIX|LOG_LEVEL|BUCKET_)/.test(k) && v !== undefined),
) as Record<string, string>;

console.log('Starting the CXR assist stack (first start takes a few seconds) ...');
const stack = await startStack({
  dataDir,
  ports: {
    redis: intEnv('LOCAL_REDIS_PORT', 6379),
    s3: intEnv('LOCAL_S3_PORT', 9000),
    dimse: intEnv('INGEST_DIMSE_PORT', 11112),
    ingestHttp: intEnv('INGEST_HTTP_PORT', 8080),
    workerHttp: intEnv('WORKER_HTTP_PORT', 8081),
    reportHttp: intEnv('REPORT_HTTP_PORT', 8090),
  },
  ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
  ...(process.env.S3_ENDPOINT
    ? { s3: { endpoint: process.env.S3_ENDPOINT, accessKey: process.env.S3_ACCESS_KEY ?? 'minioadmin', secretKey: process.env.S3_SECRET_KEY ?? 'minioadmin', region: process.env.S3_REGION ?? 'us-east-1' } }
    : {}),
  env: passthrough,
  workers: intEnv('WORKER_PROCESSES', 1) || 1,
  redisAppendOnly: true,
});

const aet = process.env.INGEST_AE_TITLE ?? 'INGEST';
console.log(`
CXR assist is running (reference model trained on synthetic images: NOT for clinical use).

  DICOM (DIMSE C-STORE/C-ECHO)  ${aet}@${stack.dimse.host}:${stack.dimse.port}
  DICOMweb STOW-RS              ${stack.ingestUrl}/dicomweb/studies
  Report API                    ${stack.reportUrl}/api/studies/{StudyInstanceUID}/report
  Inference worker health       ${stack.workerUrls.join(', ')}/readyz
  Redis                         ${stack.redisUrl}
  Object storage (S3)           ${stack.s3Endpoint}
  Logs                          ${stack.logDir}

Send a study:  TCP_NODELAY=1 dcmsend -aet PACS -aec ${aet} ${stack.dimse.host} ${stack.dimse.port} file.dcm
Or run:        npm run demo
Stop with Ctrl-C.
`);

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log('Stopping ...');
    stack.stop().then(() => process.exit(0), (e: unknown) => {
      console.error(e);
      process.exit(1);
    });
  });
}
// Exit if a service dies, so a supervisor notices.
for (const s of stack.services) {
  void s.exited.then((code) => {
    if (!stopping) {
      console.error(`${s.name} exited unexpectedly (code ${code}); see ${s.logFile}. Stopping.`);
      stopping = true;
      void stack.stop().finally(() => process.exit(1));
    }
  });
}
