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
import { freePort, OrthancProcess, type OrthancAnswer } from '@cxr/devstack';

export type { OrthancAnswer };

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

/** Orthanc as the sending PACS (the process itself: @cxr/devstack's OrthancProcess). */
export class OrthancPeer extends OrthancProcess {
  aeTitle = 'ORTHANC';

  static async start(options: OrthancOptions = {}): Promise<OrthancPeer> {
    const aeTitle = options.aeTitle ?? 'ORTHANC';
    const launch = {
      httpPort: await freePort(),
      dicomPort: await freePort(),
      dicomWeb: options.ingestStow !== undefined,
      config: {
        Name: 'cxr-interop-test',
        DicomAet: aeTitle,
        // Short SCU timeout: a test that stops storage should see the failure quickly.
        DicomScuTimeout: 10,
        HttpTimeout: 30,
        DicomModalities: options.ingestDimse
          ? { ingest: { AET: options.ingestDimse.aeTitle, Host: options.ingestDimse.host, Port: options.ingestDimse.port } }
          : {},
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
      },
    };
    const started = await OrthancProcess.launch(launch);
    const peer = new OrthancPeer(launch, started.child, started.dir, started.exited, started.logTail);
    peer.aeTitle = aeTitle;
    return peer;
  }

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
}

/** Starts Orthanc on free ports and resolves once its REST API answers `/system`. */
export function startOrthanc(options: OrthancOptions = {}): Promise<OrthancPeer> {
  return OrthancPeer.start(options);
}
