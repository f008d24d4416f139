/**
 * The STOW-RS response body (PS3.18 10.5.3): a DICOM JSON dataset with the Referenced SOP
 * Sequence (stored) and the Failed SOP Sequence (with a Failure Reason per instance).
 */
export const FailureReason = Object.freeze({
  processingFailure: 0x0110,
  outOfResources: 0xa700,
  dataSetDoesNotMatchSopClass: 0xa900,
  cannotUnderstand: 0xc000,
  /** The instance belongs to another study than the one in the request URL. */
  studyInstanceUidMismatch: 0xa900,
});

export interface StoredRef {
  sopClassUid: string;
  sopInstanceUid: string;
  retrieveUrl: string;
  warning?: number;
}

export interface FailedRef {
  sopClassUid?: string;
  sopInstanceUid?: string;
  failureReason: number;
}

type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

function uid(value: string | undefined): { vr: 'UI'; Value?: string[] } {
  return value ? { vr: 'UI', Value: [value] } : { vr: 'UI' };
}

export function stowResponse(stored: StoredRef[], failed: FailedRef[], studyRetrieveUrl: string | undefined): DicomJson {
  const body: DicomJson = {};
  if (studyRetrieveUrl) body['00081190'] = { vr: 'UR', Value: [studyRetrieveUrl] };
  if (failed.length > 0) {
    body['00081198'] = {
      vr: 'SQ',
      Value: failed.map((f) => ({
        '00081150': uid(f.sopClassUid),
        '00081155': uid(f.sopInstanceUid),
        '00081197': { vr: 'US', Value: [f.failureReason] },
      })),
    };
  }
  if (stored.length > 0) {
    body['00081199'] = {
      vr: 'SQ',
      Value: stored.map((s) => ({
        '00081150': uid(s.sopClassUid),
        '00081155': uid(s.sopInstanceUid),
        '00081190': { vr: 'UR', Value: [s.retrieveUrl] },
        ...(s.warning !== undefined ? { '00081196': { vr: 'US', Value: [s.warning] } } : {}),
      })),
    };
  }
  return body;
}

/**
 * HTTP status per PS3.18 table 10.5.3-1: 200 all stored; 202 some stored, some failed (or
 * warnings); 409 none stored. A transient failure of ours is 503, handled by the caller.
 */
export function stowStatus(stored: number, failed: number, warnings: number): 200 | 202 | 409 {
  if (stored === 0 && failed > 0) return 409;
  if (failed > 0 || warnings > 0) return 202;
  return 200;
}
