/**
 * A model package that cannot be used: bad manifest, missing or altered file, or graphs that do not
 * match the manifest. Permanent: retrying with the same package fails the same way.
 */
export class ModelPackageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelPackageError';
  }
}

/**
 * The model cannot be run right now (its thread has died or been closed): nothing is wrong with
 * the input, so a job that met this should be retried, by this process once restarted or by another.
 */
export class ModelUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ModelUnavailableError';
  }
}
