/**
 * How a failed `onInstance` becomes a C-STORE status (PS3.4 §B.2.3, PS3.7 Annex C).
 *
 * - The error carries `dimseStatus` and it is a failure code: that status is sent.
 *   0xA7xx "Refused: out of resources" = transient, the sender should retry later (storage or
 *   queue down); 0xA9xx "data set does not match SOP class" and 0xCxxx "cannot understand" =
 *   permanent, retrying the same bytes will not help.
 * - Anything else (no status, a success/warning/pending code, not an Error): 0xA700. We could
 *   not honour the request for a reason that is ours, not the object's, so we ask for a retry
 *   rather than have the sender drop the instance.
 */
import { DimseStatus } from './dimse-constants.ts';

/** True for codes that mean "not stored": not success, warning, pending or cancel. */
export function isFailureStatus(status: number): boolean {
  if (!Number.isInteger(status) || status <= 0 || status > 0xffff) return false;
  if (status === 0x0001 || status === 0x0107 || status === 0x0116) return false; // warnings
  if (status >= 0xb000 && status <= 0xbfff) return false; // warnings
  if (status === 0xff00 || status === 0xff01 || status === 0xfe00) return false; // pending, cancel
  return true;
}

export function storeFailureStatus(error: unknown): number {
  if (typeof error === 'object' && error !== null && 'dimseStatus' in error) {
    const status = (error as { dimseStatus: unknown }).dimseStatus;
    if (typeof status === 'number' && isFailureStatus(status)) return status;
  }
  return DimseStatus.OutOfResources;
}

/** A short Error Comment (0000,0902) for the sender; never echoes handler error text. */
export function errorCommentFor(status: number): string {
  if (status >= 0xa700 && status <= 0xa7ff) return 'Out of resources, retry later';
  if (status >= 0xa900 && status <= 0xa9ff) return 'Data set does not match SOP class';
  if (status >= 0xc000 && status <= 0xcfff) return 'Cannot understand';
  return 'Not stored';
}
