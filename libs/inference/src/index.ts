export { loadModelPackage, type ExecutionProvider, type FindingAnalysis, type ImageAnalysis, type LoadOptions, type ModelPackage } from './model-package.ts';
export { ModelPackageError, ModelUnavailableError } from './errors.ts';
export { loadModelPackageInThread, type ThreadedModelPackage } from './model-thread.ts';
export { modelManifestSchema, modelManifestV1Schema, modelManifestV2Schema, isManifestV2, tensorSpecSchema, type ModelManifest, type ModelManifestV1, type ModelManifestV2, type TensorSpec } from './manifest.ts';
export { preprocess, preprocessInto, letterboxBox, validateImage, type ContentBox, type InputSpec, type PresentationImage, type Preprocessed } from './preprocess.ts';
export { cropHeatmap, heatmapPeak, type Heatmap } from './heatmap.ts';
export { decodeReports, detokenize, splitDecoded, type DecodedText } from './text-decoder.ts';
export { checkImage, BLANK_MAX_SD, SATURATED_MIN_SHARE, type ImageCheck, type ImageCheckFailure, type ImageCheckOptions } from './image-checks.ts';
export { createOodDetector, fitOodStatistics, thresholdForFalseFlagRate, oodSpecSchema, oodStatisticsSchema, type OodDetector, type OodSpec, type OodStatistics } from './ood.ts';
