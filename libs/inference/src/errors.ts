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
