// What the global setup hands to tests through vitest's provide/inject.
declare module 'vitest' {
  export interface ProvidedContext {
    /** The built corpus folder (manifest.json and the files). */
    dicomCorpusDir: string;
    /** ../shared/dicom-samples (or DICOM_SAMPLES_DIR) when present, else null. */
    sharedDicomSamplesDir: string | null;
  }
}
export {};
