/**
 * A small STOW-RS client (DICOMweb, PS3.18 §10.5): one `POST {base}/studies` with a
 * `multipart/related; type="application/dicom"` body of Part 10 files, answered with a DICOM JSON
 * data set that lists what was stored (Referenced SOP Sequence) and what was not (Failed SOP
 * Sequence, with a Failure Reason per instance).
 *
 * Choices, and why:
 * - `POST {base}/studies`, not `{base}/studies/{StudyInstanceUID}`: the same for the PACS (the
 *   objects carry their study), and no UID in the request line, so nothing that logs requests on
 *   our side can leak one.
 * - Whether to retry is decided here, from what the PACS said, and carried by the error type:
 *   `StowUnavailableError` (no connection, timeout, 408/429/5xx, or every failure "out of
 *   resources") is worth retrying later; `StowRejectedError` (other 4xx, a redirect, instances
 *   refused for what they are) is not: sending the same bytes again gives the same answer.
 * - Errors and results carry statuses, counts and DICOM reason codes, never UIDs or URLs.
 */
import { PermanentError, TransientError, encodeMultipartRelated } from '@cxr/platform';

/** DICOM JSON tags (PS3.18 F.2) of the STOW-RS response module (PS3.18 Table 10.5.3-1). */
export const StowTag = Object.freeze({
  RetrieveURL: '00081190',
  FailedSOPSequence: '00081198',
  ReferencedSOPSequence: '00081199',
  ReferencedSOPClassUID: '00081150',
  ReferencedSOPInstanceUID: '00081155',
  FailureReason: '00081197',
  WarningReason: '00081196',
});

/** Failure Reason codes (PS3.18 Table I.2-1, PS3.4 C.4.2.1.5) in words. */
const FAILURE_REASON_TEXT: Record<number, string> = {
  0x0110: 'processing failure',
  0x0112: 'no such object instance',
  0x0117: 'invalid object instance',
  0x0122: 'SOP class not supported',
  0x0124: 'not authorized',
  0x0210: 'duplicate invocation',
  0x0211: 'unrecognized operation',
  0x0212: 'mistyped argument',
  0xa700: 'out of resources',
  0xa900: 'data set does not match SOP class',
  0xc000: 'cannot understand',
  0xc122: 'transfer syntax not supported',
};

const WARNING_REASON_TEXT: Record<number, string> = {
  0xb000: 'coercion of data elements',
  0xb006: 'elements discarded',
  0xb007: 'data set does not match SOP class',
};

function hex(code: number): string {
  return `0x${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

export function failureReasonText(code: number): string {
  return `${hex(code)} ${FAILURE_REASON_TEXT[code] ?? (isOutOfResources(code) ? 'out of resources' : 'failure')}`;
}

export function warningReasonText(code: number): string {
  return `${hex(code)} ${WARNING_REASON_TEXT[code] ?? 'warning'}`;
}

/** Refused: Out of Resources (A7xx): the PACS may take it once it has room again. */
function isOutOfResources(code: number): boolean {
  return code >= 0xa700 && code <= 0xa7ff;
}

/** The PACS could not take the objects now; sending them again later may work. */
export class StowUnavailableError extends TransientError {
  constructor(
    message: string,
    /** From a `Retry-After` header, when the PACS sent one. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'StowUnavailableError';
  }
}

/** The PACS refused the objects for what they are (or the request for what it is): do not resend. */
export class StowRejectedError extends PermanentError {
  constructor(message: string) {
    super(message);
    this.name = 'StowRejectedError';
  }
}

export interface StowInstanceResult {
  sopClassUid: string | null;
  sopInstanceUid: string | null;
}

export interface StowFailure extends StowInstanceResult {
  /** Failure Reason (0008,1197), or null when the PACS gave none. */
  reason: number | null;
}

/** What the PACS said it did with the objects. */
export interface StowResponse {
  httpStatus: number;
  stored: StowInstanceResult[];
  failed: StowFailure[];
  /** Warning Reasons of the stored instances and of the response, in words (no UIDs). */
  warnings: string[];
  /** Whether the body was a DICOM JSON response (some servers answer 200 with none). */
  parsed: boolean;
}

type DicomJsonDataset = Record<string, { vr?: string; Value?: unknown[] } | undefined>;

function firstValue(dataset: DicomJsonDataset, tag: string): unknown {
  return dataset[tag]?.Value?.[0];
}

function items(dataset: DicomJsonDataset, tag: string): DicomJsonDataset[] {
  const value = dataset[tag]?.Value;
  return Array.isArray(value) ? value.filter((v): v is DicomJsonDataset => v !== null && typeof v === 'object') : [];
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isInteger(value) ? value : null;
}

/** Reads a STOW-RS response body (DICOM JSON; an array of one data set is accepted too). */
export function parseStowResponseBody(httpStatus: number, body: string): StowResponse {
  let json: unknown;
  try {
    json = body.trim() === '' ? undefined : JSON.parse(body);
  } catch {
    json = undefined;
  }
  const dataset = (Array.isArray(json) ? json[0] : json) as DicomJsonDataset | undefined;
  if (!dataset || typeof dataset !== 'object') return { httpStatus, stored: [], failed: [], warnings: [], parsed: false };
  const warnings: string[] = [];
  const warningOf = (item: DicomJsonDataset) => {
    const code = num(firstValue(item, StowTag.WarningReason));
    if (code !== null) warnings.push(warningReasonText(code));
  };
  warningOf(dataset);
  const stored = items(dataset, StowTag.ReferencedSOPSequence).map((item) => {
    warningOf(item);
    return { sopClassUid: str(firstValue(item, StowTag.ReferencedSOPClassUID)), sopInstanceUid: str(firstValue(item, StowTag.ReferencedSOPInstanceUID)) };
  });
  const failed = items(dataset, StowTag.FailedSOPSequence).map((item) => ({
    sopClassUid: str(firstValue(item, StowTag.ReferencedSOPClassUID)),
    sopInstanceUid: str(firstValue(item, StowTag.ReferencedSOPInstanceUID)),
    reason: num(firstValue(item, StowTag.FailureReason)),
  }));
  return { httpStatus, stored, failed, warnings: [...new Set(warnings)], parsed: true };
}

const RETRYABLE_STATUSES = new Set([408, 425, 429]);

/** `Retry-After` in milliseconds (seconds or an HTTP date), or undefined. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

/**
 * What an answer means: resolves to the response when every instance was stored, throws
 * StowUnavailableError when trying again later may work and StowRejectedError when it will not.
 * `expected` is how many instances were sent.
 */
export function classifyStowResponse(response: StowResponse, expected: number, retryAfter?: number): StowResponse {
  const { httpStatus, failed } = response;
  const failures = () => {
    const reasons = [...new Set(failed.map((f) => (f.reason === null ? 'no reason given' : failureReasonText(f.reason))))];
    return `the PACS refused ${failed.length} of ${expected} instance${expected === 1 ? '' : 's'} (${reasons.join(', ')})`;
  };
  if (httpStatus >= 500 || RETRYABLE_STATUSES.has(httpStatus)) {
    throw new StowUnavailableError(`the PACS answered ${httpStatus}${failed.length > 0 ? `; ${failures()}` : ''}`, retryAfter);
  }
  if (httpStatus >= 300 && httpStatus < 400) {
    throw new StowRejectedError(`the PACS answered ${httpStatus} (a redirect): set REPORT_PACS_STOW_URL to the DICOMweb base it redirects to`);
  }
  if (failed.length > 0) {
    // Only "out of resources" for every instance is worth waiting for (a full disk is freed).
    if (failed.every((f) => f.reason !== null && isOutOfResources(f.reason))) throw new StowUnavailableError(`${failures()}; will retry`, retryAfter);
    throw new StowRejectedError(failures());
  }
  if (httpStatus === 401 || httpStatus === 403) {
    throw new StowRejectedError(`the PACS answered ${httpStatus}: check REPORT_PACS_AUTHORIZATION and the PACS's permissions`);
  }
  if (httpStatus >= 400) throw new StowRejectedError(`the PACS answered ${httpStatus}`);
  if (response.parsed && response.stored.length < expected) {
    throw new StowRejectedError(`the PACS answered ${httpStatus} but listed ${response.stored.length} of ${expected} instances as stored`);
  }
  return response;
}

export interface StowClientOptions {
  /** DICOMweb base (e.g. `http://orthanc:8042/dicom-web`), without a trailing slash. */
  baseUrl: string;
  /** Authorization header value, when the PACS needs one. */
  authorization?: string | undefined;
  /** Per request, default 120 s. */
  timeoutMs?: number;
}

/** Why a request got no answer, in words without the URL (the `cause` of undici's "fetch failed"). */
function connectionProblem(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'no answer in time (timeout)';
  const cause = (error as { cause?: { code?: unknown; name?: unknown } } | null)?.cause;
  const code = typeof cause?.code === 'string' ? cause.code : typeof cause?.name === 'string' ? cause.name : error instanceof Error ? error.name : 'error';
  return `could not reach the PACS (${code})`;
}

export class StowClient {
  private readonly url: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: StowClientOptions) {
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/studies`;
    this.timeoutMs = options.timeoutMs ?? 120_000;
  }

  /** Stores the files; resolves when the PACS stored every one (see `classifyStowResponse` for the errors). */
  async store(files: readonly Buffer[]): Promise<StowResponse> {
    const { body, contentType } = encodeMultipartRelated(files);
    let res: Response;
    let text: string;
    try {
      res = await fetch(this.url, {
        method: 'POST',
        headers: {
          'Content-Type': contentType,
          Accept: 'application/dicom+json',
          ...(this.options.authorization ? { Authorization: this.options.authorization } : {}),
        },
        body,
        // A redirect would resend the credentials elsewhere: refuse it (classified as a rejection below).
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (error) {
      throw new StowUnavailableError(connectionProblem(error));
    }
    return classifyStowResponse(parseStowResponseBody(res.status, text), files.length, retryAfterMs(res.headers.get('retry-after')));
  }
}
