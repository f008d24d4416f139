import { fileURLToPath } from 'node:url';

/** Absolute path of the reference model package (models/reference-cxr) in this repository. */
export const REFERENCE_MODEL_DIR: string = fileURLToPath(new URL('../../../models/reference-cxr', import.meta.url));
