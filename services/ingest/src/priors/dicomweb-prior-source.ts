import { MultipartError, parseMultipartRelated, parseMultipartRelatedType, PermanentError, TransientError } from '@cxr/platform';
import { validUid } from './dimse-prior-source.ts';
import { dicomDate, type InstanceSink, type PriorQuery, type PriorSource, type RemoteStudy } from './prior-source.ts';

/**
 * A PACS reached by DICOMweb: QIDO-RS `GET {url}studies?PatientID=..&StudyDate=from-to` to find
 * (DICOM JSON, PS3.18 10.6), WADO-RS `GET {url}studies/{uid}` to retrieve (multipart/related of
 * application/dicom, PS3.18 10.4). Bodies are read up to a bound and refused beyond it.
 */
export interface DicomwebPriorSourceOptions {
  name: string;
  /** The DICOMweb root, ending in `/` (e.g. `http://pacs:8042/dicom-web/`). */
  url: string;
  /** Sent as the Authorization header when set (e.g. `Bearer ...`, `Basic ...`). */
  authorization?: string | undefined;
  /** Largest QIDO-RS answer read. */
  maxQueryBytes?: number;
  /** Largest WADO-RS answer (one whole study) read. */
  maxStudyBytes: number;
  /** Most instances taken from one study. */
  maxInstances?: number;
}

const TAG = { StudyInstanceUID: '0020000D', StudyDate: '00080020', ModalitiesInStudy: '00080061', PatientID: '00100020', IssuerOfPatientID: '00100021' } as const;

type DicomJson = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

function firstString(item: DicomJson, tag: string): string | undefined {
  const value = item[tag]?.Value?.[0];
  return typeof value === 'string' ? value : undefined;
}

/** The body, read chunk by chunk and refused past `max` bytes (a PACS cannot make us hold more). */
async function boundedBody(res: Response, max: number, what: string): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > max) throw new PermanentError(`${what}: ${declared} bytes is more than the ${max}-byte bound`);
  const chunks: Buffer[] = [];
  let size = 0;
  if (!res.body) return Buffer.alloc(0);
  for await (const chunk of res.body) {
    size += chunk.byteLength;
    if (size > max) throw new PermanentError(`${what}: answer is more than the ${max}-byte bound`);
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}

export class DicomwebPriorSource implements PriorSource {
  readonly name: string;
  private readonly root: string;

  constructor(private readonly options: DicomwebPriorSourceOptions) {
    this.name = options.name;
    this.root = options.url.endsWith('/') ? options.url : `${options.url}/`;
  }

  private headers(accept: string): Record<string, string> {
    return { Accept: accept, ...(this.options.authorization ? { Authorization: this.options.authorization } : {}) };
  }

  private async get(url: string, accept: string, signal: AbortSignal, what: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers(accept), signal });
    } catch (error) {
      if (signal.aborted) throw error;
      throw new TransientError(`${what}: ${this.name} could not be reached (${(error as Error).message})`, { cause: error });
    }
    if (res.status >= 500 || res.status === 429) throw new TransientError(`${what}: ${this.name} answered ${res.status}`);
    return res;
  }

  async find(query: PriorQuery, signal: AbortSignal): Promise<RemoteStudy[]> {
    const params = new URLSearchParams({ PatientID: query.patientId, StudyDate: `${query.from}-${query.to}` });
    for (const field of [TAG.StudyDate, TAG.ModalitiesInStudy, TAG.IssuerOfPatientID]) params.append('includefield', field);
    const res = await this.get(`${this.root}studies?${params.toString()}`, 'application/dicom+json', signal, 'QIDO-RS');
    if (res.status === 204) return [];
    if (!res.ok) throw new PermanentError(`QIDO-RS: ${this.name} answered ${res.status}`);
    const body = await boundedBody(res, this.options.maxQueryBytes ?? 4 * 1024 * 1024, 'QIDO-RS');
    let items: unknown;
    try {
      items = body.length === 0 ? [] : JSON.parse(body.toString('utf8'));
    } catch {
      throw new PermanentError(`QIDO-RS: ${this.name} answered something that is not JSON`);
    }
    if (!Array.isArray(items)) throw new PermanentError(`QIDO-RS: ${this.name} answered JSON that is not an array of studies`);
    const out: RemoteStudy[] = [];
    for (const raw of items as DicomJson[]) {
      if (typeof raw !== 'object' || raw === null) continue;
      const studyInstanceUid = validUid(firstString(raw, TAG.StudyInstanceUID)?.replace(/\0+$/, ''));
      const studyDate = dicomDate(firstString(raw, TAG.StudyDate));
      if (!studyInstanceUid || !studyDate) continue;
      const modalities = (raw[TAG.ModalitiesInStudy]?.Value ?? []).filter((m): m is string => typeof m === 'string');
      out.push({ studyInstanceUid, studyDate, modalities, issuer: firstString(raw, TAG.IssuerOfPatientID), patientId: firstString(raw, TAG.PatientID) });
    }
    return out;
  }

  async retrieve(studyInstanceUid: string, sink: InstanceSink, signal: AbortSignal): Promise<void> {
    const res = await this.get(`${this.root}studies/${encodeURIComponent(studyInstanceUid)}`, 'multipart/related; type="application/dicom"', signal, 'WADO-RS');
    if (!res.ok) throw new PermanentError(`WADO-RS: ${this.name} answered ${res.status}`);
    const body = await boundedBody(res, this.options.maxStudyBytes, 'WADO-RS');
    let parts;
    try {
      const { boundary } = parseMultipartRelatedType(res.headers.get('content-type') ?? undefined);
      parts = parseMultipartRelated(body, boundary, this.options.maxInstances ?? 1000);
    } catch (error) {
      if (error instanceof MultipartError) throw new PermanentError(`WADO-RS: ${this.name} answered a malformed multipart body (${error.message})`, { cause: error });
      throw error;
    }
    for (const part of parts) {
      if (signal.aborted) throw signal.reason instanceof Error ? signal.reason : new Error('aborted');
      await sink(Buffer.from(part.body));
    }
  }
}
