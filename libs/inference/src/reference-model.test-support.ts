/**
 * The reference model package, for this library's tests that need a real package. Found through
 * the package itself (it exports its directory), not by a path into the repository. It is not a
 * declared dependency: @cxr/model-reference-cxr builds on this library (its training and tests
 * use the same preprocessing and decoding), so declaring it back would make a package cycle.
 */
export { referenceModelDir as REFERENCE_MODEL_DIR } from '@cxr/model-reference-cxr';
