import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAnswer, type HttpAnswer } from './http-answer.ts';
import { waitFor } from './ports.ts';

/**
 * A real Orthanc (Debian's `orthanc` and `orthanc-dicomweb` packages) as a process, for tests and
 * benchmarks: as the PACS that sends to ingest, or the PACS the report service sends back to.
 * Each launch gets its own temp storage and generated configuration; the callers add what their
 * role needs (modalities, DICOMweb servers, users). Always started with `TCP_NODELAY=1`, or DCMTK
 * inside Orthanc stalls ~45 ms per small object; stopped with SIGKILL, since a graceful Orthanc
 * 1.10 shutdown takes seconds and its storage is thrown away anyway.
 */

/** Where Debian's orthanc-dicomweb package puts the plugin (`dpkg -L orthanc-dicomweb`). */
const DICOMWEB_PLUGIN_CANDIDATES = ['/usr/share/orthanc/plugins/libOrthancDicomWeb.so', '/usr/lib/orthanc/libOrthancDicomWeb.so'];

export function orthancBinary(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v Orthanc'], { encoding: 'utf8' });
  const path = found.stdout.trim();
  return found.status === 0 && path ? path : undefined;
}

export function dicomWebPluginPath(): string | undefined {
  const listed = spawnSync('dpkg', ['-L', 'orthanc-dicomweb'], { encoding: 'utf8' });
  const fromPackage = listed.status === 0 ? listed.stdout.split('\n').find((line) => /libOrthancDicomWeb\.so$/.test(line)) : undefined;
  return [fromPackage, ...DICOMWEB_PLUGIN_CANDIDATES].find((p): p is string => !!p && existsSync(p));
}

/** Why Orthanc (with its DICOMweb plugin) cannot run here, or undefined when it can. */
export function orthancMissing(): string | undefined {
  if (!orthancBinary()) return 'Orthanc is not installed (apt-get install -y orthanc orthanc-dicomweb)';
  if (!dicomWebPluginPath()) return 'the Orthanc DICOMweb plugin is not installed (apt-get install -y orthanc-dicomweb)';
  return undefined;
}

/** An HTTP answer from Orthanc's REST API, parsed as JSON when it is. */
export type OrthancAnswer = HttpAnswer;

export interface OrthancLaunch {
  httpPort: number;
  dicomPort: number;
  /** Configuration merged over the generated base (storage, ports, local-only REST API). */
  config: Record<string, unknown>;
  /** Load the DICOMweb plugin (refused with a clear error when it is not installed). */
  dicomWeb: boolean;
  /** HTTP basic credentials; turns Orthanc's authentication on. */
  user?: { name: string; password: string };
}

/** A running Orthanc: its REST API, its log, and a way to stop it. Role-specific helpers extend it. */
export class OrthancProcess {
  readonly httpUrl: string;
  readonly dicomPort: number;
  private readonly authorization: string | undefined;

  protected constructor(
    launch: OrthancLaunch,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly exited: Promise<void>,
    private readonly logTail: () => string,
  ) {
    this.httpUrl = `http://127.0.0.1:${launch.httpPort}`;
    this.dicomPort = launch.dicomPort;
    this.authorization = launch.user ? `Basic ${Buffer.from(`${launch.user.name}:${launch.user.password}`).toString('base64')}` : undefined;
  }

  /** Starts Orthanc and resolves once its REST API answers `/system`. */
  protected static async launch(launch: OrthancLaunch): Promise<{ child: ChildProcess; dir: string; exited: Promise<void>; logTail: () => string }> {
    const binary = orthancBinary();
    if (!binary) throw new Error('Orthanc not found. Install it with `apt-get install -y orthanc orthanc-dicomweb` (Debian).');
    const plugin = launch.dicomWeb ? dicomWebPluginPath() : undefined;
    if (launch.dicomWeb && !plugin) throw new Error('the Orthanc DICOMweb plugin was not found. Install it with `apt-get install -y orthanc-dicomweb`.');
    const dir = mkdtempSync(join(tmpdir(), 'orthanc-'));
    const storage = join(dir, 'storage');
    mkdirSync(storage);
    const config: Record<string, unknown> = {
      StorageDirectory: storage,
      IndexDirectory: storage,
      HttpPort: launch.httpPort,
      DicomPort: launch.dicomPort,
      // Orthanc 1.10 has no bind address: this keeps its REST API local.
      RemoteAccessAllowed: false,
      AuthenticationEnabled: launch.user !== undefined,
      ...(launch.user ? { RegisteredUsers: { [launch.user.name]: launch.user.password } } : {}),
      OrthancExplorerEnabled: false,
      WebDavEnabled: false,
      HttpCompressionEnabled: false,
      SaveJobs: false,
      Plugins: plugin ? [plugin] : [],
      ...launch.config,
    };
    const configFile = join(dir, 'orthanc.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2));
    const child = spawn(binary, [configFile], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
    let output = '';
    const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const headers: Record<string, string> = launch.user ? { Authorization: `Basic ${Buffer.from(`${launch.user.name}:${launch.user.password}`).toString('base64')}` } : {};
    try {
      await waitFor('Orthanc to answer /system', async () => {
        if (child.exitCode !== null) throw new Error(`Orthanc exited with code ${child.exitCode}: ${output.trim().slice(-2000)}`);
        const res = await fetch(`http://127.0.0.1:${launch.httpPort}/system`, { headers }).catch(() => undefined);
        return res?.ok ? true : undefined;
      }, 30_000, 100);
    } catch (error) {
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return { child, dir, exited, logTail: () => output };
  }

  async request(method: string, path: string, body?: Buffer | string, contentType?: string): Promise<OrthancAnswer> {
    const headers: Record<string, string> = {
      ...(this.authorization ? { Authorization: this.authorization } : {}),
      ...(body !== undefined ? { 'Content-Type': contentType ?? 'application/octet-stream' } : {}),
    };
    return readAnswer(await fetch(`${this.httpUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) }));
  }

  /** Orthanc's own log, for failure messages. */
  log(): string {
    return this.logTail();
  }

  /** Kills Orthanc and removes its storage. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
