export { loadModelPackage, type ExecutionProvider, type FindingAnalysis, type ImageAnalysis, type LoadOptions, type ModelPackage } from './model-package.ts';
export { ModelPackageError, ModelUnavailableError } from './errors.ts';
export { loadModelPackageInThread, type ThreadedModelPackage } from './model-thread.ts';
export { modelManifestSchema, tensorSpecSchema, type ModelManifest, type TensorSpec } from './manifest.ts';
export { preprocess, preprocessInto, letterboxBox, validateImage, type ContentBox, type InputSpec, type PresentationImage, type Preprocessed } from './preprocess.ts';
export { cropHeatmap, heatmapPeak, type Heatmap } from './heatmap.ts';
export { decodeReports, detokenize, type DecodedText } from './text-decoder.ts';
