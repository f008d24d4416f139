export { generatePhantom, toUint16 } from './phantom.ts';
export { labelReport, writeReport, NORMAL_FINDINGS, NORMAL_IMPRESSION, type ReportFinding } from './report.ts';
export { sampleFindingSpecs } from './findings.ts';
export { createRng, type Rng } from './rng.ts';
export { FIELD_OF_VIEW_MM } from './anatomy.ts';
export { FINDING_CODES, type Finding, type FindingCode, type FindingSpec, type Phantom, type PhantomOptions, type ReportText, type Side, type Tier, type Zone } from './types.ts';
