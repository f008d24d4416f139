// parseReport: sections, mentions and the normal call of one report; findingStatus: what the
// report says about one finding.
import type { FindingCode } from './finding-codes.ts';
import { extractMentions, type Mention } from './mention-extractor.ts';
import { SECTION_NAMES, splitSections, type ReportSection, type SectionName } from './report-sections.ts';
import { isNormalStudy, READING_SECTIONS } from './study-normal.ts';

export interface ParsedReport {
  /** Each section's text by name (sections of the same name joined by a blank line). */
  readonly sections: Readonly<Partial<Record<SectionName, string>>>;
  /** The sections in order, with their headings and offsets. */
  readonly sectionList: readonly ReportSection[];
  /** Mentions in every section, in order; offsets are into their section's text. */
  readonly mentions: readonly Mention[];
  /** The study-level call: findings and impression assert no abnormality (see study-normal.ts). */
  readonly normal: boolean;
}

/** A report already split into sections (an Open-i record, one HL7 OBX per section). */
export type SectionedReport = Readonly<Partial<Record<SectionName, string | null | undefined>>>;

export type FindingStatus = 'present' | 'uncertain' | 'absent' | 'not_mentioned';

export class ReportTextError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportTextError';
  }
}

/** Reads a free-text report (headings found in the text) or one already split into sections. */
export function parseReport(input: string | SectionedReport): ParsedReport {
  const sectionList = typeof input === 'string' ? splitSections(checkedText(input)) : sectionsOf(input);
  const sections: Partial<Record<SectionName, string>> = {};
  for (const section of sectionList) {
    const previous = sections[section.name];
    sections[section.name] = previous === undefined ? section.text : `${previous}\n\n${section.text}`;
  }
  const mentions = sectionList.flatMap((section) => extractMentions(section.text, section.name));
  return { sections, sectionList, mentions, normal: isNormalStudy(mentions) };
}

/**
 * What the findings and impression say about one finding: present if any mention asserts it,
 * else uncertain if any hedges it, else absent if any denies it. `normal` gives the study call.
 */
export function findingStatus(report: ParsedReport, code: FindingCode | 'normal'): FindingStatus {
  if (code === 'normal') return report.normal ? 'present' : 'absent';
  const statuses = new Set(report.mentions.filter((m) => m.code === code && READING_SECTIONS.includes(m.section)).map((m) => m.status));
  if (statuses.has('present')) return 'present';
  if (statuses.has('uncertain')) return 'uncertain';
  if (statuses.has('absent')) return 'absent';
  return 'not_mentioned';
}

/** The reading-section mentions of one finding. */
export function mentionsOf(report: ParsedReport, code: FindingCode): Mention[] {
  return report.mentions.filter((m) => m.code === code && READING_SECTIONS.includes(m.section));
}

function checkedText(text: unknown): string {
  if (typeof text !== 'string') throw new ReportTextError(`report text must be a string, got ${typeof text}`);
  return text.replace(/\r\n?/g, '\n');
}

function sectionsOf(input: SectionedReport): ReportSection[] {
  if (typeof input !== 'object' || input === null) throw new ReportTextError('a sectioned report must be an object of section texts');
  const list: ReportSection[] = [];
  for (const [name, value] of Object.entries(input)) {
    if (!(SECTION_NAMES as readonly string[]).includes(name)) throw new ReportTextError(`unknown report section "${name}" (known: ${SECTION_NAMES.join(', ')})`);
    if (value === null || value === undefined) continue;
    if (typeof value !== 'string') throw new ReportTextError(`section "${name}" must be text, got ${typeof value}`);
    const text = checkedText(value).trim();
    if (text !== '') list.push({ name: name as SectionName, heading: null, text, start: 0 });
  }
  return list.sort((a, b) => SECTION_NAMES.indexOf(a.name) - SECTION_NAMES.indexOf(b.name));
}
