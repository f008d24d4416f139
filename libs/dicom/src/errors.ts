/**
 * Errors thrown by this package. Every one is a DicomError: `reason` is a short stable code a
 * service can map to a response, and `permanent` says "do not retry" — a malformed or unsupported
 * object will not get better on a second attempt (house style §5).
 *
 * Messages name attributes and byte offsets but never carry attribute values, so they are safe to
 * log (no patient identifiers).
 */

export class DicomError extends Error {
  override name = 'DicomError';
  readonly permanent = true;
  constructor(
    /** Stable machine-readable code, e.g. 'not_part10', 'missing_transfer_syntax'. */
    readonly reason: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The bytes are not a well-formed DICOM Part 10 file (truncated, overrun, bad header...). */
export class DicomParseError extends DicomError {
  override name = 'DicomParseError';
}

/** The file parses but breaks a rule we rely on (missing or invalid UID, inconsistent meta...). */
export class DicomValidationError extends DicomError {
  override name = 'DicomValidationError';
}

/** The transfer syntax is not one this package can read (or decode pixels of). */
export class UnsupportedTransferSyntaxError extends DicomError {
  override name = 'UnsupportedTransferSyntaxError';
  constructor(
    readonly transferSyntaxUid: string,
    message?: string,
  ) {
    super('unsupported_transfer_syntax', message ?? `unsupported transfer syntax ${transferSyntaxUid}`);
  }
}

/** Pixel data is missing, inconsistent with the image pixel module, or failed to decode. */
export class PixelDataError extends DicomError {
  override name = 'PixelDataError';
}

/**
 * dicom-parser throws plain strings or `{ exception, dataSet }` objects; turn whatever it threw
 * into a readable message. The message is the parser's own text, which names tags, never values.
 */
export function describeParserFailure(thrown: unknown): string {
  if (typeof thrown === 'string') return thrown;
  if (thrown instanceof Error) return thrown.message;
  if (thrown !== null && typeof thrown === 'object' && 'exception' in thrown) {
    const inner = (thrown as { exception: unknown }).exception;
    return typeof inner === 'string' ? inner : inner instanceof Error ? inner.message : 'unknown parser failure';
  }
  return 'unknown parser failure';
}
