export { gruDecoderOf, heatmapGridOf, loadModelPackage, manifestPreprocessing, type ManifestPreprocessing, type ExecutionProvider, type FindingAnalysis, type ImageAnalysis, type LoadOptions, type ModelPackage } from './model-package.ts';
export { ModelPackageError, ModelUnavailableError } from './errors.ts';
export { loadModelPackageInThread, type ThreadedModelPackage, type ThreadOptions } from './model-thread.ts';
export { allowedCpus, currentThreadId, parseCpuList, processThreadIds, setThreadCpus, threadCpus } from './cpu-affinity.ts';
export { findingCodesOf, labelsRead, modelManifestSchema, modelManifestV1Schema, modelManifestV2Schema, isManifestV2, tensorSpecSchema, type ModelManifest, type ModelManifestV1, type ModelManifestV2, type TensorSpec } from './manifest.ts';
export {
  preprocess, preprocessInto, preprocessV2Into, letterboxBox, placementBox, inputToImage, imageToInput, validateImage,
  type ContentBox, type InputSpec, type NormalisationSpec, type PreprocessingSpec, type PresentationImage, type Preprocessed, type ResizeSpec,
} from './preprocess.ts';
export { cropHeatmap, heatmapPeak, type Heatmap } from './heatmap.ts';
export { decodeReports, detokenize, splitDecoded, type DecodedText, type GruDecoderSpec } from './text-decoder.ts';
export { checkImage, BLANK_MAX_SD, SATURATED_MIN_SHARE, type ImageCheck, type ImageCheckFailure, type ImageCheckOptions } from './image-checks.ts';
export { createOodDetector, fitOodStatistics, thresholdForFalseFlagRate, oodSpecSchema, oodStatisticsSchema, type OodDetector, type OodSpec, type OodStatistics } from './ood.ts';
export { decodePresentationPng, inputCoversModel, readAnalysisInput } from './analysis-image-input.ts';
export { classActivationMaps, parseCamWeights, type CamWeights } from './cam.ts';
export { templatedText, TEMPLATED_NORMAL_IMPRESSION, type TemplatedFinding } from './templated-text.ts';
export { applyRepetitionPenalty, banRepeatedNgrams, cacheLayoutOf, generate, generationConfigSchema, generationSettingsOf, twoGraphCacheLayoutOf, type CacheLayout, type DecoderSessions, type Generated, type GenerationSettings } from './hf-generation.ts';
export { createHfText, splitAtMarker, type HfText, type HfTextSpec } from './hf-text.ts';
