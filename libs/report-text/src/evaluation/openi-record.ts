// One Open-i (Indiana University chest X-ray collection) report record: its sections
// (<AbstractText Label="...">) and its MeSH coding (<MeSH><major>/<minor>). Parsed with
// fast-xml-parser; a file that is not such a record is refused with the reason.
import { XMLParser } from 'fast-xml-parser';

export interface OpenIRecord {
  readonly id: string;
  readonly sections: Readonly<Record<'comparison' | 'indication' | 'findings' | 'impression', string>>;
  /** MeSH major and minor terms as written ("Pleural Effusion/left/small"). */
  readonly mesh: readonly string[];
}

export class OpenIRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OpenIRecordError';
  }
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  isArray: (name) => name === 'AbstractText' || name === 'major' || name === 'minor',
});

type XmlNode = Record<string, unknown>;

export function parseOpenIRecord(xml: string, id: string): OpenIRecord {
  let document: XmlNode;
  try {
    document = parser.parse(xml, true) as XmlNode;
  } catch (error) {
    throw new OpenIRecordError(`${id}: not well-formed XML (${error instanceof Error ? error.message : String(error)})`);
  }
  const citation = node(document['eCitation']);
  if (!citation) throw new OpenIRecordError(`${id}: no <eCitation> root, not an Open-i record`);
  const abstract = node(node(node(citation['MedlineCitation'])?.['Article'])?.['Abstract']);
  if (!abstract) throw new OpenIRecordError(`${id}: no <Abstract> with the report sections`);
  const sections = { comparison: '', indication: '', findings: '', impression: '' };
  for (const item of asArray(abstract['AbstractText'])) {
    const label = typeof item === 'object' && item !== null ? String((item as XmlNode)['@_Label'] ?? '') : '';
    const key = label.toLowerCase();
    if (key in sections) sections[key as keyof typeof sections] = textOf(item);
  }
  const meshNode = node(citation['MeSH']);
  if (!meshNode) throw new OpenIRecordError(`${id}: no <MeSH> coding to compare with`);
  const mesh = [...asArray(meshNode['major']), ...asArray(meshNode['minor'])].map(textOf).filter((t) => t !== '');
  return { id, sections, mesh };
}

function node(value: unknown): XmlNode | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as XmlNode) : undefined;
}

function asArray(value: unknown): unknown[] {
  if (value === undefined || value === null) return [];
  return Array.isArray(value) ? value : [value];
}

function textOf(value: unknown): string {
  if (typeof value === 'string') return value.trim();
  const text = node(value)?.['#text'];
  return typeof text === 'string' ? text.trim() : '';
}
