/**
 * The one way the project runs DCMTK's tools (Debian package `dcmtk`): senders (dcmsend,
 * storescu, echoscu), receivers (storescp) and readers (dcmdump, dsrdump, dcm2pnm) alike.
 *
 * - Nagle is off (`TCP_NODELAY=1`) for every tool: DCMTK leaves it on, which costs ~45 ms per
 *   small object on both ends of an association; it is harmless for the file tools.
 * - A tool that is not installed is a `DcmtkNotInstalledError` naming it and the package to
 *   install, instead of a bare `spawn dcmsend ENOENT`.
 * - Every run has a timeout (the tool is killed, SIGKILL) and a bound on the output it may
 *   write; a non-zero exit or a timeout is a `DcmtkToolError` carrying the exit code and the
 *   output, unless the caller asked to see failures as results (`allowFailure`), as tests that
 *   expect a refusal do.
 */
import { spawn, spawnSync, type ChildProcess, type StdioOptions } from 'node:child_process';

export interface DcmtkRunOptions {
  /** Default 120 s; the tool is killed after it. */
  timeoutMs?: number;
  /** Added to the environment (which already has TCP_NODELAY=1). */
  env?: Record<string, string>;
  /** How stdout and stderr are decoded; default utf8 (dumps of odd character sets: latin1). */
  encoding?: BufferEncoding;
  /** Stdout + stderr beyond this are an error; default 64 MiB. */
  maxOutputBytes?: number;
  /** Resolve with the result on a non-zero exit or a timeout, instead of rejecting. */
  allowFailure?: boolean;
  /** Kills the tool (SIGKILL) when aborted; the run then ends as a timeout does (`timedOut`). */
  signal?: AbortSignal;
}

export interface DcmtkResult {
  tool: string;
  /** Null when the tool was killed (timeout). */
  code: number | null;
  timedOut: boolean;
  stdout: string;
  stderr: string;
  /** Stdout and stderr interleaved as they were written (DCMTK logs to both). */
  output: string;
}

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export class DcmtkNotInstalledError extends Error {
  constructor(readonly tool: string) {
    super(`DCMTK's ${tool} is not installed (Debian/Ubuntu: apt-get install dcmtk)`);
    this.name = 'DcmtkNotInstalledError';
  }
}

/** The tool ran and failed: a non-zero exit, a timeout, or more output than allowed. */
export class DcmtkToolError extends Error {
  readonly tool: string;
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;

  constructor(result: DcmtkResult, why?: string) {
    const reason = why ?? (result.timedOut ? 'timed out' : `exited with code ${result.code}`);
    const tail = result.output.trim().split('\n').slice(-5).join('\n');
    super(`${result.tool} ${reason}${tail ? `:\n${tail}` : ''}`);
    this.name = 'DcmtkToolError';
    this.tool = result.tool;
    this.code = result.code;
    this.timedOut = result.timedOut;
    this.stdout = result.stdout;
    this.stderr = result.stderr;
  }
}

function environment(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  return { ...process.env, TCP_NODELAY: '1', ...extra };
}

function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

/** Runs a tool to its end; see the module note for what rejects. */
export function runDcmtk(tool: string, args: readonly string[], options: DcmtkRunOptions = {}): Promise<DcmtkResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const encoding = options.encoding ?? 'utf8';
  return new Promise((resolve, reject) => {
    const child = spawn(tool, args, { env: environment(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const output: Buffer[] = [];
    let bytes = 0;
    let timedOut = false;
    let overflow = false;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > maxOutputBytes) {
        overflow = true;
        child.kill('SIGKILL');
        return;
      }
      into.push(chunk);
      output.push(chunk);
    };
    child.stdout.on('data', collect(stdout));
    child.stderr.on('data', collect(stderr));
    const stop = () => {
      timedOut = true;
      child.kill('SIGKILL');
    };
    const timer = setTimeout(stop, timeoutMs);
    if (options.signal?.aborted) stop();
    else options.signal?.addEventListener('abort', stop, { once: true });
    const done = () => {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', stop);
    };
    child.on('error', (error) => {
      done();
      reject(isNotFound(error) ? new DcmtkNotInstalledError(tool) : error);
    });
    child.on('close', (code) => {
      done();
      const text = (chunks: Buffer[]) => Buffer.concat(chunks).toString(encoding);
      const result: DcmtkResult = { tool, code: timedOut || overflow ? null : code, timedOut, stdout: text(stdout), stderr: text(stderr), output: text(output) };
      if (overflow) reject(new DcmtkToolError(result, `wrote more than ${maxOutputBytes} bytes of output`));
      else if ((result.code !== 0 || timedOut) && !options.allowFailure) reject(new DcmtkToolError(result));
      else resolve(result);
    });
  });
}

/**
 * The same, blocking: for tests that read a file with dcmdump inside a synchronous helper.
 * `output` is stdout then stderr (a synchronous run cannot see their order).
 */
export function runDcmtkSync(tool: string, args: readonly string[], options: DcmtkRunOptions = {}): DcmtkResult {
  const ran = spawnSync(tool, args, {
    env: environment(options.env),
    encoding: options.encoding ?? 'utf8',
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    killSignal: 'SIGKILL',
    maxBuffer: options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (isNotFound(ran.error)) throw new DcmtkNotInstalledError(tool);
  const timedOut = (ran.error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT';
  const result: DcmtkResult = { tool, code: ran.status, timedOut, stdout: ran.stdout ?? '', stderr: ran.stderr ?? '', output: `${ran.stdout ?? ''}${ran.stderr ?? ''}` };
  if (ran.error && !timedOut) throw new DcmtkToolError(result, `could not be run (${ran.error.message})`);
  if ((result.code !== 0 || timedOut) && !options.allowFailure) throw new DcmtkToolError(result);
  return result;
}

/** Starts a long-running tool (storescp as a peer); the caller stops it. */
export function startDcmtk(tool: string, args: readonly string[], options: { env?: Record<string, string>; stdio?: StdioOptions } = {}): ChildProcess {
  // Checked first: a missing binary would otherwise be an 'error' event nobody listens for.
  if (!isDcmtkInstalled(tool)) throw new DcmtkNotInstalledError(tool);
  return spawn(tool, args, { env: environment(options.env), stdio: options.stdio ?? 'ignore' });
}

/** True when the tool is on PATH (to skip a test with a clear message, or to choose another way). */
export function isDcmtkInstalled(tool = 'dcmsend'): boolean {
  if (!/^[A-Za-z0-9+_.-]+$/.test(tool)) return false;
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}
