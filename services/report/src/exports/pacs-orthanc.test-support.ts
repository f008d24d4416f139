/**
 * Test support (not a test): a real Orthanc (Debian's `orthanc` + `orthanc-dicomweb`) as the PACS
 * the report service sends to over STOW-RS (`POST /dicom-web/studies`).
 *
 * Unlike ingest's interop support (where Orthanc is the sending PACS), this one starts Orthanc on
 * a port the caller picks, so a test can point the service at a closed port first ("the PACS is
 * down") and start Orthanc there later; and it turns on HTTP basic authentication, so the
 * service's `REPORT_PACS_AUTHORIZATION` is exercised. `RemoteAccessAllowed: false` keeps it local.
 */
import { OrthancProcess, orthancMissing } from '@cxr/devstack';

export { orthancMissing };

export interface OrthancPacsOptions {
  httpPort: number;
  dicomPort: number;
  user: string;
  password: string;
}

/** Orthanc as the receiving PACS (the process itself: @cxr/devstack's OrthancProcess). */
export class OrthancPacs extends OrthancProcess {
  static async start(options: OrthancPacsOptions): Promise<OrthancPacs> {
    const launch = {
      httpPort: options.httpPort,
      dicomPort: options.dicomPort,
      dicomWeb: true,
      user: { name: options.user, password: options.password },
      config: { Name: 'cxr-pacs-test', DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true } },
    };
    const started = await OrthancProcess.launch(launch);
    return new OrthancPacs(launch, started.child, started.dir, started.exited, started.logTail);
  }

  /** The DICOMweb base the service is configured with. */
  get dicomWebUrl(): string {
    return `${this.httpUrl}/dicom-web`;
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
}

/** Starts Orthanc with the DICOMweb plugin on `httpPort`; resolves once `/system` answers. */
export function startOrthancPacs(options: OrthancPacsOptions): Promise<OrthancPacs> {
  return OrthancPacs.start(options);
}
