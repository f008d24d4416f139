import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT, serviceNodeFlags, type ServiceName } from '@cxr/devstack';
import { execArgsOf } from '../../libs/devstack/src/image-start-script.ts';
import { cmdOf, readDockerfile } from './dockerfile.test-support.ts';
import * as ingestConfig from '../../services/ingest/src/config.ts';
import * as workerConfig from '../../services/inference-worker/src/config.ts';
import * as reportConfig from '../../services/report/src/config.ts';

/**
 * No Docker engine runs here, so docker-compose.yml is checked statically: every image and
 * build context exists, every env var is one the service reads, ports agree with config.
 */
interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  environment?: Record<string, string>;
  ports?: string[];
  command?: string | string[];
  volumes?: string[];
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

/** `${NAME:-default}` → default, as compose does with NAME unset. */
function substitute(value: string): string {
  return String(value).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1');
}

function envOf(service: string): Record<string, string> {
  const env = compose.services[service]?.environment ?? {};
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, substitute(String(v))]));
}

function containerPorts(service: string): number[] {
  return (compose.services[service]?.ports ?? []).map((p) => Number(String(p).split(':').at(-1)));
}

const ours = {
  ingest: ingestConfig,
  'inference-worker': workerConfig,
  report: reportConfig,
} as const;

describe('docker-compose.yml', () => {
  test('runs MinIO, Redis with append-only persistence, the three services and an Orthanc PACS', () => {
    expect(Object.keys(compose.services).sort()).toEqual(['inference-worker', 'ingest', 'minio', 'orthanc', 'redis', 'report']);
    expect(String(compose.services.redis!.command)).toContain('--appendonly yes');
    for (const s of Object.values(compose.services)) expect(s.image, 'every service names an image').toBeTruthy();
  });

  test.each(Object.keys(ours))('the %s service builds from the one Dockerfile, with SERVICE naming it', (name) => {
    const build = compose.services[name]!.build!;
    expect(build.dockerfile).toBe('Dockerfile');
    expect(existsSync(join(REPO_ROOT, build.context, build.dockerfile))).toBe(true);
    expect(build.args).toEqual({ SERVICE: name });
    expect(existsSync(join(REPO_ROOT, 'services', name, 'src', 'main.ts'))).toBe(true);
    const { stages, defaultStage } = readDockerfile();
    expect(stages[defaultStage]).toMatch(/^USER node$/m);
  });

  test.each(Object.keys(ours))("the %s image starts as startServiceProcess does: node, the service's node flags, tsx's loader", (name) => {
    const { stages, defaultStage } = readDockerfile();
    // The build writes the start script for SERVICE; the image's CMD runs it.
    const write = /node --import tsx (libs\/devstack\/src\/cli\/image-start-script\.ts) "\$\{SERVICE\}" (\/app\/start\.sh)/.exec(stages.build!);
    expect(write, 'the build stage writes /app/start.sh for SERVICE').not.toBeNull();
    expect(cmdOf(stages[defaultStage]!)).toEqual(['/bin/sh', write![2]]);
    // Run the writer as the build does, then read the command the script execs.
    const dir = mkdtempSync(join(tmpdir(), 'cxr-start-script-'));
    try {
      const file = join(dir, 'start.sh');
      const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, write![1]!), name, file], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect(run.status, run.stderr).toBe(0);
      const script = readFileSync(file, 'utf8');
      expect(spawnSync('sh', ['-n', file]).status, 'the script is valid sh').toBe(0);
      // V8 heap flags are refused in NODE_OPTIONS, so they are node's own arguments; `exec` makes
      // node itself PID 1 (no shell or tsx CLI in between), so SIGTERM reaches the service's handler.
      expect(script).toMatch(/^exec /m);
      expect(execArgsOf(script)).toEqual(['node', ...serviceNodeFlags(name as ServiceName), '--import', 'tsx', `services/${name}/src/main.ts`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the start script writer refuses a SERVICE that names no service, failing the build', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cxr-start-script-'));
    try {
      const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'libs/devstack/src/cli/image-start-script.ts'), 'billing', join(dir, 'start.sh')], { cwd: REPO_ROOT, encoding: 'utf8' });
      expect(run.status).not.toBe(0);
      expect(run.stderr).toMatch(/SERVICE must be one of ingest, inference-worker, report \(got "billing"\)/);
      expect(existsSync(join(dir, 'start.sh'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each(Object.keys(ours))('every env var given to %s is one its config reads, and the config accepts them', (name) => {
    const config = ours[name as keyof typeof ours];
    const known = Object.keys(config.envSchema.shape);
    const env = envOf(name);
    for (const key of Object.keys(env)) expect(known, `${name} reads ${key}`).toContain(key);
    expect(() => config.loadConfig(env)).not.toThrow();
  });

  test('published ports are the ones the services listen on', () => {
    const ingest = ingestConfig.loadConfig(envOf('ingest'));
    expect(containerPorts('ingest').sort()).toEqual([ingest.dimse.port, ingest.http.port].sort());
    expect(ingest.dimse.host).toBe('0.0.0.0');
    expect(containerPorts('inference-worker')).toEqual([workerConfig.loadConfig(envOf('inference-worker')).http.port]);
    const report = reportConfig.loadConfig(envOf('report'));
    // The review API, and the HL7 MLLP listener for final reports (the second read).
    expect(containerPorts('report').sort()).toEqual([report.http.port, report.secondRead.hl7?.port].sort());
    expect(report.secondRead.hl7?.host).toBe('0.0.0.0');
  });

  test('the services reach Redis and MinIO by their compose names and ports', () => {
    for (const name of Object.keys(ours)) {
      const env = envOf(name);
      expect(new URL(env.REDIS_URL!).hostname).toBe('redis');
      expect(containerPorts('redis')).toContain(Number(new URL(env.REDIS_URL!).port));
      expect(new URL(env.S3_ENDPOINT!).hostname).toBe('minio');
      expect(containerPorts('minio')).toContain(Number(new URL(env.S3_ENDPOINT!).port));
      expect(env.S3_ACCESS_KEY).toBe(envOf('minio').MINIO_ROOT_USER);
    }
  });

  test('the Orthanc demo PACS pushes to ingest by DIMSE and STOW-RS with a key ingest accepts', () => {
    const orthanc = JSON.parse(readFileSync(join(REPO_ROOT, 'infra/orthanc/orthanc.json'), 'utf8'));
    const ingest = ingestConfig.loadConfig(envOf('ingest'));
    expect(orthanc.DicomModalities.ingest).toEqual([ingest.dimse.aeTitle, 'ingest', ingest.dimse.port]);
    const server = orthanc.DicomWeb.Servers.ingest;
    expect(new URL(server.Url).port).toBe(String(ingest.http.port));
    const key = String(server.HttpHeaders.Authorization).replace(/^Bearer /, '');
    expect(ingest.stow.apiKeys.get(key)).toBe('demo-pacs');
    const mount = compose.services.orthanc!.volumes![0]!.split(':')[0]!;
    expect(existsSync(join(REPO_ROOT, mount))).toBe(true);
  });
});
