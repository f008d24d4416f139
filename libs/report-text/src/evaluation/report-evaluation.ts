// Reads a folder of Open-i records, parses each report (FINDINGS + IMPRESSION are the report;
// INDICATION and COMPARISON are parsed as sections too) and compares the findings it calls
// present or uncertain with the record's MeSH coding. A hedged finding counts as called: the
// collection's coders code what a report raises ("probable small effusion" is coded effusion).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findingStatus, parseReport } from '../report.ts';
import { findingMetrics, type FindingMetrics } from './finding-metrics.ts';
import { codesFromMesh, EVALUATED_CODES, type EvaluatedCode } from './mesh-mapping.ts';
import { OpenIRecordError, parseOpenIRecord, type OpenIRecord } from './openi-record.ts';

export interface RecordOutcome {
  readonly id: string;
  readonly truth: ReadonlySet<EvaluatedCode>;
  readonly predicted: ReadonlySet<EvaluatedCode>;
}

export interface ReportEvaluation {
  readonly reports: number;
  readonly perFinding: Record<EvaluatedCode, FindingMetrics>;
  /** Records the collection left uncoded (MeSH `No Indexing`): they have no labels to compare with. */
  readonly unindexed: number;
  /** Files that were not Open-i records, with the reason. */
  readonly skipped: readonly { file: string; reason: string }[];
  readonly outcomes: readonly RecordOutcome[];
}

/** The findings a parsed record's report calls present or uncertain, and `normal` when normal. */
export function predictedCodes(record: OpenIRecord): Set<EvaluatedCode> {
  const report = parseReport(record.sections);
  const codes = new Set<EvaluatedCode>();
  for (const code of EVALUATED_CODES) {
    const status = findingStatus(report, code);
    if (status === 'present' || status === 'uncertain') codes.add(code);
  }
  return codes;
}

export function isUnindexed(record: OpenIRecord): boolean {
  return record.mesh.length === 0 || record.mesh.every((term) => term.trim().toLowerCase() === 'no indexing');
}

export function evaluateRecords(records: readonly OpenIRecord[]): Omit<ReportEvaluation, 'skipped'> {
  const indexed = records.filter((record) => !isUnindexed(record));
  const outcomes = indexed.map((record) => ({ id: record.id, truth: codesFromMesh(record.mesh), predicted: predictedCodes(record) }));
  return { reports: indexed.length, unindexed: records.length - indexed.length, perFinding: findingMetrics(outcomes, EVALUATED_CODES), outcomes };
}

/** Evaluates every `.xml` file in `dir`. Files that are not Open-i records are skipped and listed. */
export async function evaluateOpenIFolder(dir: string): Promise<ReportEvaluation> {
  const files = (await readdir(dir)).filter((f) => f.toLowerCase().endsWith('.xml')).sort();
  const records: OpenIRecord[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const file of files) {
    try {
      records.push(parseOpenIRecord(await readFile(join(dir, file), 'utf8'), file));
    } catch (error) {
      if (!(error instanceof OpenIRecordError)) throw error;
      skipped.push({ file, reason: error.message });
    }
  }
  return { ...evaluateRecords(records), skipped };
}
