/**
 * Test support (not a test): a real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) as the PACS
 * the report service sends to over STOW-RS (`POST /dicom-web/studies`).
 *
 * Unlike ingest's interop support (where Orthanc is the sending PACS), this one starts Orthanc on
 * a port the caller picks, so a test can point the service at a closed port first ("the PACS is
 * down") and start Orthanc there later; and it turns on HTTP basic authentication, so the
 * service's `REPORT_PACS_AUTHORIZATION` is exercised. `RemoteAccessAllowed: false` keeps it local.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@cxr/devstack';

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

/** Why Orthanc cannot run here, or undefined when it can. */
export function orthancMissing(): string | undefined {
  if (!orthancBinary()) return 'Orthanc is not installed (apt-get install -y orthanc orthanc-dicomweb)';
  if (!dicomWebPluginPath()) return 'the Orthanc DICOMweb plugin is not installed (apt-get install -y orthanc-dicomweb)';
  return undefined;
}

export interface OrthancPacsOptions {
  httpPort: number;
  dicomPort: number;
  user: string;
  password: string;
}

export class OrthancPacs {
  constructor(
    readonly httpUrl: string,
    private readonly authorization: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly exited: Promise<void>,
    private readonly logTail: () => string,
  ) {}

  /** The DICOMweb base the service is configured with. */
  get dicomWebUrl(): string {
    return `${this.httpUrl}/dicom-web`;
  }

  async request(method: string, path: string, body?: Buffer | string, contentType?: string): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.httpUrl}${path}`, {
      method,
      headers: { Authorization: this.authorization, ...(contentType ? { 'Content-Type': contentType } : {}) },
      ...(body !== undefined ? { body } : {}),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  }

  /** `POST /instances` (an original the PACS already holds). */
  async upload(file: Buffer): Promise<void> {
    const res = await this.request('POST', '/instances', file, 'application/dicom');
    if (res.status !== 200) throw new Error(`Orthanc refused the upload (${res.status})`);
  }

  /** Orthanc ids of every instance stored. */
  async instanceIds(): Promise<string[]> {
    const res = await this.request('GET', '/instances');
    return res.body as string[];
  }

  /** `GET /instances/{id}/simplified-tags`. */
  async simplifiedTags(id: string): Promise<Record<string, unknown>> {
    return (await this.request('GET', `/instances/${id}/simplified-tags`)).body as Record<string, unknown>;
  }

  /** Number of studies Orthanc holds. */
  async studyCount(): Promise<number> {
    return ((await this.request('GET', '/studies')).body as string[]).length;
  }

  log(): string {
    return this.logTail();
  }

  /** SIGKILL (a graceful Orthanc 1.10 shutdown takes seconds; its storage is thrown away anyway). */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts Orthanc with the DICOMweb plugin on `httpPort`; resolves once `/system` answers. */
export async function startOrthancPacs(options: OrthancPacsOptions): Promise<OrthancPacs> {
  const binary = orthancBinary();
  const plugin = dicomWebPluginPath();
  if (!binary || !plugin) throw new Error(orthancMissing());
  const dir = mkdtempSync(join(tmpdir(), 'orthanc-pacs-'));
  const storage = join(dir, 'storage');
  mkdirSync(storage);
  const config = {
    Name: 'cxr-pacs-test',
    StorageDirectory: storage,
    IndexDirectory: storage,
    HttpPort: options.httpPort,
    DicomPort: options.dicomPort,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: true,
    RegisteredUsers: { [options.user]: options.password },
    OrthancExplorerEnabled: false,
    WebDavEnabled: false,
    HttpCompressionEnabled: false,
    SaveJobs: false,
    Plugins: [plugin],
    DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true },
  };
  const configFile = join(dir, 'orthanc.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child = spawn(binary, [configFile], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const httpUrl = `http://127.0.0.1:${options.httpPort}`;
  const authorization = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
  try {
    await waitFor(
      'Orthanc to answer /system',
      async () => {
        if (child.exitCode !== null) throw new Error(`Orthanc exited with code ${child.exitCode}: ${output.trim().slice(-2000)}`);
        const res = await fetch(`${httpUrl}/system`, { headers: { Authorization: authorization } }).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      30_000,
      100,
    );
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return new OrthancPacs(httpUrl, authorization, child, dir, exited, () => output);
}
