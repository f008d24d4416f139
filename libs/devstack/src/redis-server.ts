import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Redis } from 'ioredis';
import { waitFor } from './ports.ts';

export interface RedisServerHandle {
  url: string;
  port: number;
  process: ChildProcess;
  stop(): Promise<void>;
}

export function redisServerBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

/**
 * Starts a real redis-server (Debian's package) as a child process. `appendonly` turns on
 * AOF persistence in `dir`, as production runs it; tests usually run without persistence.
 */
export async function startRedisServer(options: { port: number; dir: string; appendonly?: boolean; host?: string }): Promise<RedisServerHandle> {
  const binary = redisServerBinary();
  if (!binary) {
    throw new Error('redis-server not found. Install it with `apt-get install -y redis-server` (Debian/Ubuntu), or set REDIS_URL to an existing Redis.');
  }
  mkdirSync(options.dir, { recursive: true });
  const host = options.host ?? '127.0.0.1';
  const args = [
    '--port', String(options.port), '--bind', host, '--dir', options.dir, '--daemonize', 'no',
    '--save', '', '--appendonly', options.appendonly ? 'yes' : 'no', '--protected-mode', 'yes',
  ];
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
  const url = `redis://${host}:${options.port}`;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitFor('redis-server to answer PING', async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${output.trim()}`);
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      client.on('error', () => undefined); // connection refused while starting: connect() rejects
      try {
        await client.connect();
        return (await client.ping()) === 'PONG' ? true : undefined;
      } finally {
        client.disconnect();
      }
    }, 10_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url,
    port: options.port,
    process: child,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
