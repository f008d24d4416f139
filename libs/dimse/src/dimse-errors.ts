import { AbortReason, DimseStatus } from './dimse-constants.ts';

/**
 * The peer broke the upper-layer protocol (PS3.8): malformed or oversized PDU, unexpected PDU,
 * bad item length. Permanent: the association is aborted with `abortReason`.
 */
export class DimseProtocolError extends Error {
  readonly abortReason: number;
  constructor(message: string, abortReason: number = AbortReason.InvalidPduParameterValue) {
    super(message);
    this.name = 'DimseProtocolError';
    this.abortReason = abortReason;
  }
}

/**
 * What an `onInstance` handler throws to choose the C-STORE status the sender gets.
 * 0xA7xx (out of resources) tells the sender to retry later; 0xA9xx and 0xCxxx are permanent.
 * Any error without a usable `dimseStatus` is answered 0xA700 (see `storeFailureStatus`).
 */
export class DimseStatusError extends Error {
  readonly dimseStatus: number;
  constructor(message: string, dimseStatus: number = DimseStatus.OutOfResources, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DimseStatusError';
    this.dimseStatus = dimseStatus;
  }
}

/** The server was given options it cannot run with; names the option. */
export class DimseConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DimseConfigError';
  }
}

/** For logs: an error's name and message, never a thrown non-Error's contents. */
export function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'non-Error thrown';
}
