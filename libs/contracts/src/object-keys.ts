/**
 * Object storage layout, shared by every service (see docs/data-layout.md).
 *
 * - originals bucket (identifiable; ingest writes, report reads for export): DICOM as received.
 * - derived bucket (de-identified; keyed by pseudonymous keys): analysis inputs, previews,
 *   model results and heatmaps.
 * - reports bucket: report state, revisions, audit entries, overlays.
 *
 * Content hashes in original keys keep two different objects that claim the same SOP Instance
 * UID apart instead of one overwriting the other.
 */
export const objectKeys = Object.freeze({
  original(studyUid: string, seriesUid: string, sopUid: string, sha256: string): string {
    return `studies/${studyUid}/series/${seriesUid}/instances/${sopUid}/${sha256}.dcm`;
  },
  originalPrefix(studyUid: string): string {
    return `studies/${studyUid}/`;
  },
  presentationImage(studyKey: string, instanceKey: string): string {
    return `inputs/${studyKey}/${instanceKey}/presentation.png`;
  },
  /** Small raw grey16 image for the inference worker (format: analysis-input.ts). */
  analysisInput(studyKey: string, instanceKey: string): string {
    return `inputs/${studyKey}/${instanceKey}/analysis.u16`;
  },
  /** De-identified metadata (DICOM JSON, PS3.15 Basic Profile) of an analysed instance. */
  deidentifiedMetadata(studyKey: string, instanceKey: string): string {
    return `inputs/${studyKey}/${instanceKey}/metadata.json`;
  },
  preview(studyKey: string, instanceKey: string): string {
    return `inputs/${studyKey}/${instanceKey}/preview.png`;
  },
  analysisResult(studyKey: string, version: number): string {
    return `results/${studyKey}/v${version}/result.json`;
  },
  /** A shadow model version's result on the same study version (`model` = `id@version`): kept apart, never drafted. */
  shadowResult(studyKey: string, version: number, model: string): string {
    return `results/${studyKey}/v${version}/shadow/${model}.json`;
  },
  /**
   * A finding's heatmap stored as its own object: the layout of results written before heatmaps were
   * inlined in the result JSON (`heatmapPng`). Still read for those results; no longer written.
   */
  heatmap(studyKey: string, version: number, instanceKey: string, code: string): string {
    return `results/${studyKey}/v${version}/${instanceKey}/heatmaps/${code}.png`;
  },
  reportState(studyKey: string): string {
    return `reports/${studyKey}/state.json`;
  },
  reportRevision(studyKey: string, revision: number): string {
    return `reports/${studyKey}/revisions/${String(revision).padStart(6, '0')}.json`;
  },
  reportRevisionPrefix(studyKey: string): string {
    return `reports/${studyKey}/revisions/`;
  },
  /** Where every study's report objects live (`reports/{studyKey}/...`): what a reindex lists. */
  reportsRoot(): string {
    return 'reports/';
  },
  /**
   * One audit entry, never overwritten. `at` (ISO 8601) is written compactly so keys sort by time;
   * `id` keeps entries of the same millisecond apart.
   */
  auditEntry(studyKey: string, at: string, id: string): string {
    return `reports/${studyKey}/audit/${at.replace(/[-:.]/g, '')}-${id}.json`;
  },
  auditPrefix(studyKey: string): string {
    return `reports/${studyKey}/audit/`;
  },
  /** A radiologist's final report taken in for the second read (never overwritten; `id` from its content). */
  finalReport(studyKey: string, id: string): string {
    return `reports/${studyKey}/final-reports/${id}.json`;
  },
  /** A discrepancy between a final report and the AI, as found (never overwritten). */
  discrepancy(studyKey: string, id: string): string {
    return `reports/${studyKey}/discrepancies/${id}.json`;
  },
  discrepancyPrefix(studyKey: string): string {
    return `reports/${studyKey}/discrepancies/`;
  },
  /** The peer review of a discrepancy (written once). */
  discrepancyReview(studyKey: string, id: string): string {
    return `reports/${studyKey}/discrepancies/${id}.review.json`;
  },
  overlay(studyKey: string, version: number, instanceKey: string, code: string): string {
    return `reports/${studyKey}/v${version}/${instanceKey}/overlays/${code}.png`;
  },
});
