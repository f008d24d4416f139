import {
  apiErrorSchema,
  discrepancyListResponseSchema,
  discrepancySchema,
  type Discrepancy,
  type DiscrepancyListResponse,
  type DiscrepancyReviewOutcome,
  reportResponseSchema,
  worklistResponseSchema,
  type ReportEditRequest,
  type ReportResponse,
  type ReportStatus,
  type StudyPriority,
  type WorklistResponse,
} from '@cxr/contracts';

/**
 * The browser's client of the report service's review API. Every write carries the ETag of the
 * report the user was looking at in `If-Match`, so an edit made elsewhere in between is refused
 * (412) instead of silently overwritten. Responses are validated against the shared contract.
 */

/** A failed API call, with a message meant for the person using the viewer. */
export class ReportApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ReportApiError';
    this.status = status;
    this.code = code;
  }
}

/** 412: the report changed since it was loaded; the edit was not applied. */
export class StaleReportError extends ReportApiError {
  constructor() {
    super(412, 'stale-report', 'Someone else changed this report: reload it to see their changes (your edit was not saved).');
    this.name = 'StaleReportError';
  }
}

export type TokenProvider = () => string | null | undefined | Promise<string | null | undefined>;

export interface ReportApiOptions {
  /** Origin (and path prefix) of the report service, '' for the page's own origin. */
  baseUrl: string;
  getToken: TokenProvider;
  fetch?: typeof fetch;
}

export interface WorklistQuery {
  status?: ReportStatus;
  priority?: StudyPriority;
  limit?: number;
  cursor?: string;
}

const STATUS_MESSAGES: Record<number, string> = {
  401: 'Your sign-in token is missing, invalid or expired: paste a new token.',
  403: 'Your role does not allow this (editing and signing need the radiologist role).',
  404: 'No report is known for this study.',
  428: 'The request lacked the report version (If-Match): reload the report.',
};

/** Turns a non-2xx response into a ReportApiError with a readable message. */
export async function errorFromResponse(res: Response): Promise<ReportApiError> {
  if (res.status === 412) return new StaleReportError();
  let code = `http-${res.status}`;
  let serverMessage: string | undefined;
  try {
    const parsed = apiErrorSchema.safeParse(await res.json());
    if (parsed.success) {
      code = parsed.data.error.code;
      serverMessage = parsed.data.error.message;
    }
  } catch {
    // Not JSON (a proxy's error page): fall back to the status text.
  }
  // For 401/403/428 the fix is the same whatever the server says; otherwise (400, 404, 409, 422)
  // the server's own words say what is wrong with this particular request.
  const fixed = STATUS_MESSAGES[res.status];
  const message =
    (res.status === 404 ? undefined : fixed) ??
    (serverMessage ? `${serverMessage.charAt(0).toUpperCase()}${serverMessage.slice(1)} (HTTP ${res.status}).` : undefined) ??
    fixed ??
    `The report service answered HTTP ${res.status}.`;
  return new ReportApiError(res.status, code, message);
}

export class ReportApiClient {
  readonly baseUrl: string;
  private readonly getToken: TokenProvider;
  private readonly fetchImpl: typeof fetch;

  constructor(options: ReportApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.getToken = options.getToken;
    // Bound: calling window.fetch with another `this` throws "Illegal invocation".
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
  }

  private reportPath(studyInstanceUid: string, suffix = ''): string {
    return `${this.baseUrl}/api/studies/${encodeURIComponent(studyInstanceUid)}/report${suffix}`;
  }

  private async request(method: string, url: string, options: { etag?: string; body?: unknown } = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    const token = await this.getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (options.etag !== undefined) headers['If-Match'] = options.etag;
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchImpl(url, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), cache: 'no-store' });
    } catch (error) {
      throw new ReportApiError(0, 'network', `Cannot reach the report service (${error instanceof Error ? error.message : String(error)}).`);
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  private async reportFrom(res: Response): Promise<ReportResponse> {
    const parsed = reportResponseSchema.safeParse(await res.json());
    if (!parsed.success) throw new ReportApiError(res.status, 'invalid-response', 'The report service sent a report this viewer does not understand.');
    // The ETag header is authoritative when present (a proxy could not have changed the body's copy, but be strict).
    const etag = res.headers.get('ETag');
    return etag ? { ...parsed.data, etag } : parsed.data;
  }

  /** A write's answer is the updated report; when a server answers without a body, read it again. */
  private async reportAfterWrite(res: Response, studyInstanceUid: string): Promise<ReportResponse> {
    if (res.status !== 204 && (res.headers.get('Content-Type') ?? '').includes('json')) {
      const text = await res.text();
      const parsed = reportResponseSchema.safeParse(text ? JSON.parse(text) : undefined);
      if (parsed.success) {
        const etag = res.headers.get('ETag');
        return etag ? { ...parsed.data, etag } : parsed.data;
      }
    }
    return this.getReport(studyInstanceUid);
  }

  async getReport(studyInstanceUid: string): Promise<ReportResponse> {
    return this.reportFrom(await this.request('GET', this.reportPath(studyInstanceUid)));
  }

  async saveReport(studyInstanceUid: string, etag: string, edit: ReportEditRequest): Promise<ReportResponse> {
    const res = await this.request('PUT', this.reportPath(studyInstanceUid), { etag, body: edit });
    return this.reportAfterWrite(res, studyInstanceUid);
  }

  async signReport(studyInstanceUid: string, etag: string, attestation?: string): Promise<ReportResponse> {
    const res = await this.request('POST', this.reportPath(studyInstanceUid, '/sign'), { etag, body: attestation ? { attestation } : {} });
    return this.reportAfterWrite(res, studyInstanceUid);
  }

  async addAddendum(studyInstanceUid: string, etag: string, text: string): Promise<ReportResponse> {
    const res = await this.request('POST', this.reportPath(studyInstanceUid, '/addenda'), { etag, body: { text } });
    return this.reportAfterWrite(res, studyInstanceUid);
  }

  async worklist(query: WorklistQuery = {}): Promise<WorklistResponse> {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== '') params.set(key, String(value));
    const qs = params.toString();
    const res = await this.request('GET', `${this.baseUrl}/api/studies${qs ? `?${qs}` : ''}`);
    const parsed = worklistResponseSchema.safeParse(await res.json());
    if (!parsed.success) throw new ReportApiError(res.status, 'invalid-response', 'The report service sent a worklist this viewer does not understand.');
    return parsed.data;
  }

  /** The peer-review worklist of the second read (radiologist, admin), newest first. */
  async discrepancies(status: 'open' | 'reviewed' = 'open', cursor?: string): Promise<DiscrepancyListResponse> {
    const params = new URLSearchParams({ status, limit: '100' });
    if (cursor) params.set('cursor', cursor);
    const res = await this.request('GET', `${this.baseUrl}/api/discrepancies?${params.toString()}`);
    const parsed = discrepancyListResponseSchema.safeParse(await res.json());
    if (!parsed.success) throw new ReportApiError(res.status, 'invalid-response', 'The report service sent a discrepancy list this viewer does not understand.');
    return parsed.data;
  }

  /** Records a peer reviewer's call on a discrepancy (once; 409 when already reviewed). */
  async reviewDiscrepancy(id: string, outcome: DiscrepancyReviewOutcome, comment?: string): Promise<Discrepancy> {
    const res = await this.request('POST', `${this.baseUrl}/api/discrepancies/${encodeURIComponent(id)}/review`, { body: comment ? { outcome, comment } : { outcome } });
    const parsed = discrepancySchema.safeParse(await res.json());
    if (!parsed.success) throw new ReportApiError(res.status, 'invalid-response', 'The report service sent a discrepancy this viewer does not understand.');
    return parsed.data;
  }

  /** The server-sent events URL; EventSource cannot send headers, so the token goes in the query. */
  async eventsUrl(): Promise<string> {
    const token = await this.getToken();
    return `${this.baseUrl}/api/events${token ? `?access_token=${encodeURIComponent(token)}` : ''}`;
  }
}
