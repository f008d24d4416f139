export { findingMetrics } from './finding-metrics.ts';
export type { FindingMetrics, LabelledPair } from './finding-metrics.ts';
export { codesFromMesh, EVALUATED_CODES, MESH_RULES } from './mesh-mapping.ts';
export type { EvaluatedCode } from './mesh-mapping.ts';
export { OpenIRecordError, parseOpenIRecord } from './openi-record.ts';
export type { OpenIRecord } from './openi-record.ts';
export { evaluateOpenIFolder, evaluateRecords, isUnindexed, predictedCodes } from './report-evaluation.ts';
export type { RecordOutcome, ReportEvaluation } from './report-evaluation.ts';
