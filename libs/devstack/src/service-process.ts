import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from './ports.ts';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

export type ServiceName = 'ingest' | 'inference-worker' | 'report';

export interface ServiceProcess {
  name: string;
  process: ChildProcess;
  logFile: string;
  /** SIGTERM and wait (then SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<void>;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
}

export const SERVICE_NAMES: readonly ServiceName[] = Object.freeze(['ingest', 'inference-worker', 'report']);

/**
 * The Node flags a service is always started with: `cxr.nodeFlags` in its package.json, the one
 * place they are written (the image's start script is made from them, see serviceCommand).
 * V8 heap flags such as `--initial-heap-size` are refused in NODE_OPTIONS, so they must be on
 * the command line.
 */
export function serviceNodeFlags(service: ServiceName): string[] {
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'services', service, 'package.json'), 'utf8')) as { cxr?: { nodeFlags?: unknown } };
  const flags = manifest.cxr?.nodeFlags ?? [];
  if (!Array.isArray(flags) || !flags.every((f): f is string => typeof f === 'string' && /^--[a-z0-9-]+(=\S+)?$/.test(f))) {
    throw new Error(`services/${service}/package.json: cxr.nodeFlags must be a list of --flag or --flag=value strings`);
  }
  return flags;
}

/**
 * How a service is started, relative to the repository root: node itself (so that it gets
 * SIGTERM, as PID 1 in an image), the service's node flags, then tsx's loader on its main.ts.
 * startServiceProcess runs it; the image's start script (infra/docker/start-script.ts) is
 * written from it at build time.
 */
export function serviceCommand(service: ServiceName): string[] {
  return ['node', ...serviceNodeFlags(service), '--import', 'tsx', `services/${service}/src/main.ts`];
}

/**
 * Runs a service as its own Node process, exactly as `npm start` does (tsx on its main.ts, with
 * the service's node flags), with its JSON logs written to `logFile`, and waits until its
 * /readyz answers 200.
 */
export async function startServiceProcess(options: {
  service: ServiceName;
  name?: string;
  env: Record<string, string>;
  readyUrl: string;
  logDir: string;
  timeoutMs?: number;
  echo?: boolean;
}): Promise<ServiceProcess> {
  const name = options.name ?? options.service;
  mkdirSync(options.logDir, { recursive: true });
  const logFile = join(options.logDir, `${name}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  // One process per service (node with tsx's loader), not the tsx CLI, which runs the service in
  // a child: a signal sent to the CLI's pid would not reach the service itself (SIGKILL tests).
  // CXR_SERVICE_NODE_ARGS: extra node flags for every service process (e.g. `--cpu-prof
  // --cpu-prof-dir=/tmp/prof` to profile the services a benchmark starts).
  const extraArgs = (process.env.CXR_SERVICE_NODE_ARGS ?? '').split(' ').filter((a) => a !== '');
  const [, ...args] = serviceCommand(options.service);
  const child = spawn(process.execPath, [...extraArgs, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  if (options.echo) {
    child.stdout?.pipe(process.stdout, { end: false });
    child.stderr?.pipe(process.stderr, { end: false });
  }
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  await waitFor(`${name} to be ready (${options.readyUrl}); see ${logFile}`, async () => {
    if (child.exitCode !== null) throw new Error(`${name} exited with code ${child.exitCode}`);
    const res = await fetch(options.readyUrl).catch(() => undefined);
    return res?.status === 200 ? true : undefined;
  }, options.timeoutMs ?? 60_000, 200);
  return {
    name,
    process: child,
    logFile,
    exited,
    kill(signal: NodeJS.Signals = 'SIGKILL') {
      child.kill(signal);
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      log.end();
    },
  };
}
