export { evaluateModel, phantomFor, asPresentation, type EvaluateOptions, type EvaluationResult, type TierMetrics } from './evaluate.ts';
export { auc, bootstrap, calibrationError, confusion, rates, rocCurve, type Confusion, type Interval } from './metrics.ts';
export { PERTURBATIONS, type Perturbation } from './perturbations.ts';
export { markdownSummary, rocPng, writeEvaluation } from './outputs.ts';
export { evaluateDataset, largestGap, type EvaluateDatasetOptions, type FindingMetrics, type GroupMetrics, type LocalEvaluationResult, type OodCounts, type SubgroupGap } from './local/local-evaluation.ts';
export { localMarkdown, localRocSvg, writeLocalEvaluation } from './local/local-outputs.ts';
export { LabelsError, parseLabelsCsv, readLabelsCsv, readReportLabels, type StudyLabels } from './local/study-labels.ts';
export { AGE_BANDS, SUBGROUP_ATTRIBUTES, ageBandOf, subgroupValuesOf, type SubgroupAttribute, type SubgroupValues } from './local/subgroups.ts';
export { writePhantomDataset, type PhantomDatasetDevice, type PhantomDatasetOptions, type PhantomDatasetStudy } from './local/phantom-dataset.ts';
