export * from './common.ts';
export * from './queues.ts';
export * from './study-completion.ts';
export * from './analysis-request.ts';
export * from './analysis-result.ts';
export * from './report-events.ts';
export * from './report.ts';
export * from './object-keys.ts';
