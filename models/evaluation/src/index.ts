export { evaluateModel, phantomFor, asPresentation, type EvaluateOptions, type EvaluationResult, type TierMetrics } from './evaluate.ts';
export { auc, bootstrap, calibrationError, confusion, rates, rocCurve, type Confusion, type Interval } from './metrics.ts';
export { PERTURBATIONS, type Perturbation } from './perturbations.ts';
export { markdownSummary, rocPng, writeEvaluation } from './outputs.ts';
