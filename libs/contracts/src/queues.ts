/** Queue names shared by producers and consumers. The BullMQ key prefix is configuration. */
export const QUEUE_NAMES = Object.freeze({
  /** ingest → ingest: a study's instances have all arrived (association end or stable age). */
  studyCompletion: 'study-completion',
  /** ingest → inference-worker: analyse one version of a study. */
  analysis: 'analysis',
  /** ingest, inference-worker → report: what happened to a study. */
  reportEvents: 'report-events',
  /** report → report: send a report (SR + overlay Secondary Captures) to the PACS over STOW-RS. */
  pacsExport: 'pacs-export',
});
