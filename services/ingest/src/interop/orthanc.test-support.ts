/**
 * Test support (not a test): a real Orthanc (Debian's `orthanc` + `orthanc-dicomweb` packages)
 * as the sending PACS. Each call starts its own Orthanc on free ports with a temp storage
 * directory and a generated configuration:
 * - `DicomModalities.ingest` points at our DIMSE SCP, so `POST /modalities/ingest/store` pushes
 *   by C-STORE;
 * - `DicomWeb.Servers.ingest` points at our STOW-RS root with an `Authorization: Bearer` header,
 *   so `POST /dicom-web/servers/ingest/stow` pushes by STOW-RS (one chunked multipart/related
 *   request, each instance byte for byte as Orthanc stored it);
 * - `RemoteAccessAllowed: false` keeps its REST API local (Orthanc 1.10 has no bind address);
 * - `TCP_NODELAY=1` in its environment, or DCMTK inside Orthanc stalls ~45 ms per small object.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from '@cxr/devstack';

/** Where Debian's orthanc-dicomweb package puts the plugin (`dpkg -L orthanc-dicomweb`). */
const DICOMWEB_PLUGIN_CANDIDATES = [
  '/usr/share/orthanc/plugins/libOrthancDicomWeb.so',
  '/usr/lib/orthanc/libOrthancDicomWeb.so',
];

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

export interface OrthancOptions {
  /** Our DIMSE SCP, registered as modality "ingest". */
  ingestDimse?: { aeTitle: string; host: string; port: number };
  /** Our STOW-RS root (ending in `/dicomweb/`), registered as DICOMweb server "ingest". */
  ingestStow?: { url: string; apiKey?: string };
  aeTitle?: string;
  /** Extra configuration merged over the generated one. */
  extraConfig?: Record<string, unknown>;
}

/** What Orthanc answers for `POST /instances`. */
export interface OrthancUpload {
  id: string;
  status: 'Success' | 'AlreadyStored';
  studyInstanceUid: string;
  sopInstanceUid: string;
}

/** An HTTP answer from Orthanc's REST API, parsed as JSON when it is. */
export interface OrthancAnswer {
  status: number;
  body: unknown;
}

export class OrthancPeer {
  constructor(
    readonly httpUrl: string,
    readonly dicomPort: number,
    readonly aeTitle: string,
    private readonly child: ChildProcess,
    private readonly dir: string,
    private readonly exited: Promise<void>,
    private readonly logTail: () => string,
  ) {}

  /** `POST /instances`; undefined when Orthanc refuses the file. */
  async upload(file: Buffer): Promise<OrthancUpload | undefined> {
    const res = await this.request('POST', '/instances', file, 'application/dicom');
    if (res.status !== 200) return undefined;
    const body = res.body as { ID: string; Status: OrthancUpload['status'] };
    const tags = (await this.request('GET', `/instances/${body.ID}/simplified-tags`)).body as Record<string, string>;
    return { id: body.ID, status: body.Status, studyInstanceUid: tags.StudyInstanceUID!, sopInstanceUid: tags.SOPInstanceUID! };
  }

  /** The file as Orthanc stored it (`GET /instances/{id}/file`). */
  async storedFile(id: string): Promise<Buffer> {
    const res = await fetch(`${this.httpUrl}/instances/${id}/file`);
    if (!res.ok) throw new Error(`Orthanc GET /instances/${id}/file answered ${res.status}`);
    return Buffer.from(await res.arrayBuffer());
  }

  /** C-STORE SCU: `POST /modalities/{modality}/store`, waiting for the job to finish. */
  storeToModality(resources: string[], modality = 'ingest'): Promise<OrthancAnswer> {
    return this.request('POST', `/modalities/${modality}/store`, JSON.stringify({ Resources: resources, Synchronous: true }), 'application/json');
  }

  /** STOW-RS client: `POST /dicom-web/servers/{server}/stow`, waiting for the job to finish. */
  stowToServer(resources: string[], server = 'ingest'): Promise<OrthancAnswer> {
    return this.request('POST', `/dicom-web/servers/${server}/stow`, JSON.stringify({ Resources: resources, Synchronous: true }), 'application/json');
  }

  async request(method: string, path: string, body?: Buffer | string, contentType?: string): Promise<OrthancAnswer> {
    const res = await fetch(`${this.httpUrl}${path}`, {
      method,
      ...(body !== undefined ? { body, headers: { 'Content-Type': contentType ?? 'application/octet-stream' } } : {}),
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

  /** Orthanc's own log, for failure messages. */
  log(): string {
    return this.logTail();
  }

  /**
   * Kills Orthanc and removes its storage. SIGKILL, not SIGTERM: a graceful shutdown of Orthanc
   * 1.10 takes ~3.5 s, and everything it holds is thrown away anyway.
   */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts Orthanc and resolves once its REST API answers `/system`. */
export async function startOrthanc(options: OrthancOptions = {}): Promise<OrthancPeer> {
  const binary = orthancBinary();
  if (!binary) throw new Error('Orthanc not found. Install it with `apt-get install -y orthanc orthanc-dicomweb` (Debian).');
  const plugin = options.ingestStow ? dicomWebPluginPath() : undefined;
  if (options.ingestStow && !plugin) throw new Error('the Orthanc DICOMweb plugin was not found. Install it with `apt-get install -y orthanc-dicomweb`.');
  const dir = mkdtempSync(join(tmpdir(), 'orthanc-'));
  const storage = join(dir, 'storage');
  mkdirSync(storage);
  const aeTitle = options.aeTitle ?? 'ORTHANC';
  const httpPort = await freePort();
  const dicomPort = await freePort();
  const config: Record<string, unknown> = {
    Name: 'cxr-interop-test',
    StorageDirectory: storage,
    IndexDirectory: storage,
    HttpPort: httpPort,
    DicomPort: dicomPort,
    DicomAet: aeTitle,
    RemoteAccessAllowed: false,
    AuthenticationEnabled: false,
    OrthancExplorerEnabled: false,
    WebDavEnabled: false,
    HttpCompressionEnabled: false,
    SaveJobs: false,
    // Short SCU timeout: a test that stops storage should see the failure quickly.
    DicomScuTimeout: 10,
    HttpTimeout: 30,
    DicomModalities: options.ingestDimse
      ? { ingest: { AET: options.ingestDimse.aeTitle, Host: options.ingestDimse.host, Port: options.ingestDimse.port } }
      : {},
    Plugins: plugin ? [plugin] : [],
    ...(options.ingestStow
      ? {
          DicomWeb: {
            Enable: true,
            Root: '/dicom-web/',
            EnableWado: false,
            Servers: {
              ingest: {
                Url: options.ingestStow.url,
                ...(options.ingestStow.apiKey ? { HttpHeaders: { Authorization: `Bearer ${options.ingestStow.apiKey}` } } : {}),
              },
            },
          },
        }
      : {}),
    ...options.extraConfig,
  };
  const configFile = join(dir, 'orthanc.json');
  writeFileSync(configFile, JSON.stringify(config, null, 2));
  const child = spawn(binary, [configFile], { env: { ...process.env, TCP_NODELAY: '1' }, stdio: ['ignore', 'pipe', 'pipe'], cwd: dir });
  let output = '';
  const keep = (d: Buffer) => (output = (output + d.toString()).slice(-8000));
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  try {
    await waitFor('Orthanc to answer /system', async () => {
      if (child.exitCode !== null) throw new Error(`Orthanc exited with code ${child.exitCode}: ${output.trim().slice(-2000)}`);
      const res = await fetch(`${httpUrl}/system`).catch(() => undefined);
      return res?.ok ? true : undefined;
    }, 30_000, 100);
  } catch (error) {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return new OrthancPeer(httpUrl, dicomPort, aeTitle, child, dir, exited, () => output);
}
