export { createApp, type AppDeps } from './app.ts';
export { loadConfig, envSchema, type ReportConfig } from './config.ts';
export { startReportEventsConsumer, type ReportEventsConsumerDeps, type ReportEventResult } from './events/report-events-consumer.ts';
export { ReportEventHandler, type EventOutcome } from './events/report-event-handler.ts';
export { composeDraft } from './drafts/compose-draft.ts';
export { renderOverlay } from './drafts/overlays.ts';
export { createReportMetrics, type ReportMetrics } from './metrics.ts';
export { ReportStore, type ReportIndexEntry } from './state/report-store.ts';
export { reportStateSchema, reportRevisionSchema, type ReportState, type ReportRevision } from './state/report-state.ts';
