// The report text of a DICOM Basic Text SR or Enhanced SR (PS3.3 A.35.1, A.35.2): what a RIS or
// reporting system stores to the PACS when a radiologist signs. The content tree is walked depth
// first; every TEXT item's Text Value is kept in order, under the Code Meaning of the CONTAINER (or
// of the TEXT item itself) as a section heading ("Findings", "Impression"). Bounded: a tree deeper
// than MAX_DEPTH or with more than MAX_ITEMS items is cut there, and the text at MAX_TEXT_CHARS.
import type { DataSet } from 'dicom-parser';
import { dataSetOf, type ParsedInstance } from './parse.ts';
import { Tag } from './tags.ts';
import { SopClass } from './uids.ts';

/** The SR classes whose content is report text (Comprehensive SR, with measurements and spatial references, is not read here). */
export const TEXT_SR_SOP_CLASSES: readonly string[] = Object.freeze([SopClass.BasicTextSR, SopClass.EnhancedSR]);

export interface SrReportText {
  /** Sections joined by blank lines, each after its heading ("FINDINGS:"). */
  text: string;
  /** Completion Flag (0040,A491): COMPLETE or PARTIAL. */
  completion: string | undefined;
  /** Verification Flag (0040,A493): VERIFIED once the report is signed, else UNVERIFIED. */
  verification: string | undefined;
  /** Code Meaning of the document title (the root concept name), e.g. "Chest X-ray Report". */
  title: string | undefined;
  /** Set when the walk stopped at one of its bounds. */
  truncated: boolean;
}

const MAX_DEPTH = 16;
const MAX_ITEMS = 5000;
export const MAX_SR_TEXT_CHARS = 100_000;

export function isTextSr(sopClassUid: string): boolean {
  return TEXT_SR_SOP_CLASSES.includes(sopClassUid);
}

function str(dataSet: DataSet, tag: string): string | undefined {
  try {
    const value = dataSet.string(tag);
    return value === undefined ? undefined : value.trim();
  } catch {
    return undefined;
  }
}

/** Text Value (UT) with its line breaks kept (dataSet.string would not trim them, but `text` keeps leading spaces too). */
function textValue(dataSet: DataSet): string | undefined {
  try {
    return dataSet.text(Tag.TextValue)?.replace(/\r\n?/g, '\n').trim();
  } catch {
    return undefined;
  }
}

function conceptName(dataSet: DataSet): string | undefined {
  const item = dataSet.elements[Tag.ConceptNameCodeSequence]?.items?.[0]?.dataSet;
  return item ? str(item, Tag.CodeMeaning) : undefined;
}

export function readSrReportText(instance: ParsedInstance): SrReportText {
  const root = dataSetOf(instance);
  const sections: string[] = [];
  let items = 0;
  let length = 0;
  let truncated = false;

  const walk = (dataSet: DataSet, depth: number, heading: string | undefined): void => {
    const children = dataSet.elements[Tag.ContentSequence]?.items ?? [];
    for (const child of children) {
      if (truncated) return;
      const item = child.dataSet;
      if (!item) continue;
      if (++items > MAX_ITEMS || depth > MAX_DEPTH) {
        truncated = true;
        return;
      }
      const type = str(item, Tag.ValueType);
      const name = conceptName(item);
      if (type === 'TEXT') {
        const value = textValue(item);
        if (!value) continue;
        const label = name && !/^(finding|text)$/i.test(name) ? name : heading;
        const piece = label ? `${label.toUpperCase()}:\n${value}` : value;
        if (length + piece.length > MAX_SR_TEXT_CHARS) {
          truncated = true;
          return;
        }
        sections.push(piece);
        length += piece.length + 2;
      } else if (type === 'CONTAINER') {
        walk(item, depth + 1, name ?? heading);
      }
    }
  };
  walk(root, 1, undefined);
  return {
    text: mergeHeadings(sections),
    completion: str(root, Tag.CompletionFlag),
    verification: str(root, Tag.VerificationFlag),
    title: conceptName(root),
    truncated,
  };
}

/** Consecutive pieces under the same heading become one section. */
function mergeHeadings(pieces: string[]): string {
  const out: string[] = [];
  let last: string | null = null;
  for (const piece of pieces) {
    const match = /^([^\n]+):\n([\s\S]*)$/.exec(piece);
    if (match && match[1] === last) out[out.length - 1] += `\n${match[2]}`;
    else out.push(piece);
    last = match ? match[1]! : null;
  }
  return out.join('\n\n');
}
