// Where a local evaluation's truth comes from, study by study and finding by finding:
// - a CSV with the columns StudyInstanceUID,finding,label (label 0 or 1; any column order, a header
//   line first, other columns ignored), or
// - a folder of the department's reports, one per study, named by its Study Instance UID:
//   `<StudyInstanceUID>.txt` (the report text, sections as the report has them) or
//   `<StudyInstanceUID>.xml` (an Open-i record). Each is read by @cxr/report-text: a finding stated
//   present is 1; absent or not mentioned is 0; uncertain ("possible nodule") is left unlabelled,
//   so the study does not count for that finding.
// Bad input is refused with the file and line; nothing is guessed.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { findingStatus, isFindingCode, parseReport, type ParsedReport } from '@cxr/report-text';
import { parseOpenIRecord } from '@cxr/report-text/evaluation';

/** StudyInstanceUID → finding code → 0/1. */
export type StudyLabels = Map<string, Map<string, 0 | 1>>;

export class LabelsError extends Error {
  override name = 'LabelsError';
  /** Bad input: running again on the same file fails the same way. */
  readonly permanent = true;
}

/** Largest labels file or report read (a hospital's whole archive of labels fits well within it). */
const MAX_FILE_BYTES = 64 * 1024 * 1024;
const UID = /^[0-9]+(\.[0-9]+)*$/;

async function readBounded(path: string): Promise<string> {
  const info = await stat(path);
  if (!info.isFile()) throw new LabelsError(`${path}: not a file`);
  if (info.size > MAX_FILE_BYTES) throw new LabelsError(`${path}: ${info.size} bytes, more than the ${MAX_FILE_BYTES} read`);
  return (await readFile(path, 'utf8')).replace(/^\uFEFF/, '');
}

function splitCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"' && cell === '') quoted = true;
    else if (c === ',') {
      cells.push(cell.trim());
      cell = '';
    } else cell += c;
  }
  cells.push(cell.trim());
  return cells;
}

function setLabel(labels: StudyLabels, uid: string, finding: string, label: 0 | 1, where: string): void {
  let study = labels.get(uid);
  if (!study) labels.set(uid, (study = new Map()));
  const before = study.get(finding);
  if (before !== undefined && before !== label) throw new LabelsError(`${where}: ${finding} of study ${uid} is labelled both 0 and 1`);
  study.set(finding, label);
}

/** Parses labels CSV text; `findings`: the codes the package reads (any other is refused). */
export function parseLabelsCsv(text: string, findings: readonly string[], name = 'labels'): StudyLabels {
  const lines = text.split(/\r?\n/);
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.toLowerCase());
  const col = (n: string): number => header.indexOf(n.toLowerCase());
  const [uidCol, findingCol, labelCol] = [col('StudyInstanceUID'), col('finding'), col('label')];
  if (uidCol < 0 || findingCol < 0 || labelCol < 0) throw new LabelsError(`${name}: the header must name the columns StudyInstanceUID, finding and label (found: ${lines[0]?.slice(0, 200) ?? 'nothing'})`);
  const labels: StudyLabels = new Map();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    const where = `${name} line ${i + 1}`;
    const cells = splitCsvLine(line);
    const uid = cells[uidCol] ?? '';
    const finding = (cells[findingCol] ?? '').toLowerCase();
    const label = cells[labelCol] ?? '';
    if (!UID.test(uid) || uid.length > 64) throw new LabelsError(`${where}: ${JSON.stringify(uid.slice(0, 80))} is not a Study Instance UID`);
    if (!findings.includes(finding)) throw new LabelsError(`${where}: finding ${JSON.stringify(finding.slice(0, 80))} is not one the package reads (${findings.join(', ')})`);
    if (label !== '0' && label !== '1') throw new LabelsError(`${where}: label ${JSON.stringify(label.slice(0, 80))} is not 0 or 1`);
    setLabel(labels, uid, finding, label === '1' ? 1 : 0, where);
  }
  return labels;
}

export async function readLabelsCsv(path: string, findings: readonly string[]): Promise<StudyLabels> {
  return parseLabelsCsv(await readBounded(path), findings, basename(path));
}

/** One report's labels: present 1, absent or not mentioned 0, uncertain left out. */
export function labelsFromReport(report: ParsedReport, findings: readonly string[]): Map<string, 0 | 1> {
  const out = new Map<string, 0 | 1>();
  for (const code of findings) {
    if (!isFindingCode(code)) continue; // a package finding the extractor does not know: no label
    const status = findingStatus(report, code);
    if (status === 'present') out.set(code, 1);
    else if (status !== 'uncertain') out.set(code, 0);
  }
  return out;
}

/** Reads `<StudyInstanceUID>.txt` and `<StudyInstanceUID>.xml` (Open-i) reports; other files are ignored. */
export async function readReportLabels(dir: string, findings: readonly string[]): Promise<{ labels: StudyLabels; uncertain: Record<string, number> }> {
  const labels: StudyLabels = new Map();
  const uncertain: Record<string, number> = {};
  for (const file of (await readdir(dir)).sort()) {
    const ext = extname(file).toLowerCase();
    if (ext !== '.txt' && ext !== '.xml') continue;
    const uid = basename(file, extname(file));
    if (!UID.test(uid)) throw new LabelsError(`${file}: a report is named <StudyInstanceUID>.txt or .xml; ${JSON.stringify(uid.slice(0, 80))} is not a UID`);
    if (labels.has(uid)) throw new LabelsError(`${file}: study ${uid} has two reports`);
    const text = await readBounded(join(dir, file));
    let report: ParsedReport;
    try {
      report = ext === '.xml' ? parseReport({ ...parseOpenIRecord(text, file).sections }) : parseReport(text);
    } catch (error) {
      throw new LabelsError(`${file}: ${(error as Error).message.slice(0, 300)}`);
    }
    const study = labelsFromReport(report, findings);
    for (const code of findings) if (!study.has(code) && isFindingCode(code)) uncertain[code] = (uncertain[code] ?? 0) + 1;
    labels.set(uid, study);
  }
  if (labels.size === 0) throw new LabelsError(`${dir}: no <StudyInstanceUID>.txt or .xml reports`);
  return { labels, uncertain };
}
