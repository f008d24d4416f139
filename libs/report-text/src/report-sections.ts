// Sections of a free-text report. Headings are recognised at the start of a line (any case,
// with a colon or alone on the line), after a full stop ("... normal. IMPRESSION: ..."), and
// anywhere when written in capitals with a colon (reports flattened onto one line). Each
// heading's common variants map to one section name.

export const SECTION_NAMES = ['indication', 'comparison', 'technique', 'findings', 'impression', 'recommendation', 'report'] as const;
/** `report` is text before any heading (a report written without headings). */
export type SectionName = (typeof SECTION_NAMES)[number];

export interface ReportSection {
  readonly name: SectionName;
  /** The heading as written, or null for text before any heading. */
  readonly heading: string | null;
  readonly text: string;
  /** Offset of `text` in the whole report. */
  readonly start: number;
}

const HEADINGS: Readonly<Record<Exclude<SectionName, 'report'>, readonly string[]>> = {
  indication: [
    'indication', 'indications', 'clinical indication', 'clinical indications', 'history', 'clinical history', 'medical history',
    'reason for exam', 'reason for examination', 'reason for study', 'reason for referral', 'reason', 'clinical information',
    'clinical details', 'clinical data', 'clinical notes', 'clinical question', 'clinical', 'symptoms',
  ],
  comparison: ['comparison', 'comparisons', 'comparison study', 'comparison studies', 'comparison exam', 'prior', 'priors', 'prior study', 'prior studies', 'prior exam', 'previous'],
  technique: ['technique', 'techniques', 'exam', 'examination', 'procedure', 'views', 'study', 'type of exam'],
  findings: ['findings', 'finding', 'findings and impression', 'report', 'description', 'results', 'result', 'discussion'],
  impression: ['impression', 'impressions', 'conclusion', 'conclusions', 'summary', 'opinion', 'interpretation', 'diagnosis', 'assessment', 'final impression'],
  recommendation: ['recommendation', 'recommendations', 'advice', 'follow up', 'follow-up'],
};

// Headings also recognised mid-line in capitals: the unambiguous ones only ("PRIOR:" or
// "STUDY:" inside a sentence is too likely to be prose).
const INLINE_HEADINGS = new Set([
  'indication', 'indications', 'clinical indication', 'history', 'clinical history', 'reason for exam', 'reason for examination',
  'comparison', 'comparisons', 'technique', 'findings', 'impression', 'impressions', 'conclusion', 'conclusions', 'recommendation', 'recommendations',
]);

const headingToSection = new Map<string, Exclude<SectionName, 'report'>>(
  Object.entries(HEADINGS).flatMap(([name, headings]) => headings.map((h) => [h, name as Exclude<SectionName, 'report'>] as const)),
);
const alternation = [...headingToSection.keys()]
  .sort((a, b) => b.length - a.length)
  .map((h) => h.replace(/[-\s]+/g, '[-\\s]+'))
  .join('|');
const inlineAlternation = [...INLINE_HEADINGS].sort((a, b) => b.length - a.length).map((h) => h.toUpperCase().replace(/\s+/g, '\\s+')).join('|');

const LINE_START = new RegExp(`(?:^|\\n)[ \\t]*(${alternation})[ \\t]*(?::|-[ \\t]|\\n|$)`, 'gi');
const AFTER_SENTENCE = new RegExp(`(?<=[.!?][ \\t]+)(${alternation})[ \\t]*:`, 'gi');
const INLINE_CAPITALS = new RegExp(`(?<![A-Za-z])(${inlineAlternation})[ \\t]*:`, 'g');

interface HeadingMatch {
  name: Exclude<SectionName, 'report'>;
  heading: string;
  at: number;
  bodyStart: number;
}

/** Splits report text into sections by their headings. */
export function splitSections(text: string): ReportSection[] {
  const matches = findHeadings(text);
  const sections: ReportSection[] = [];
  const firstAt = matches[0]?.at ?? text.length;
  pushSection(sections, 'report', null, text, 0, firstAt);
  matches.forEach((match, index) => {
    const end = matches[index + 1]?.at ?? text.length;
    pushSection(sections, match.name, match.heading, text, match.bodyStart, end);
  });
  return sections;
}

function findHeadings(text: string): HeadingMatch[] {
  const found = new Map<number, HeadingMatch>();
  for (const pattern of [LINE_START, AFTER_SENTENCE, INLINE_CAPITALS]) {
    pattern.lastIndex = 0;
    for (let m = pattern.exec(text); m; m = pattern.exec(text)) {
      const heading = m[1] ?? '';
      const at = m.index + m[0].indexOf(heading);
      const name = headingToSection.get(heading.toLowerCase().replace(/[-\s]+/g, (sep) => (sep.includes('-') ? '-' : ' ')));
      if (!name || [...found.values()].some((f) => at >= f.at && at < f.bodyStart)) continue;
      found.set(at, { name, heading, at, bodyStart: m.index + m[0].length });
      if (m[0].endsWith('\n')) pattern.lastIndex -= 1; // the newline may start the next heading
    }
  }
  return [...found.values()].sort((a, b) => a.at - b.at);
}

function pushSection(sections: ReportSection[], name: SectionName, heading: string | null, text: string, from: number, to: number): void {
  const raw = text.slice(from, to);
  const lead = raw.length - raw.trimStart().length;
  const body = raw.trim();
  if (body === '' && heading === null) return;
  sections.push({ name, heading, text: body, start: from + lead });
}
