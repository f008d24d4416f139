// @cxr/test-corpus: DICOM files the project makes itself for its tests (see README.md).
export { corpus, sharedSamplesDir, type Corpus } from './corpus.ts';
export { NEEDS_SHARED, sharedSamplesPath, locateSharedSamples } from './shared-samples.ts';
export { corpusUid } from './cases.ts';
export type { CorpusCase, CorpusImage, CorpusManifest, SourcePixels, ExpectedRefusal } from './manifest.ts';
