// Builds Open-i shaped XML records for tests: the same elements the collection uses, with
// report text written for the tests.
export interface FixtureRecord {
  readonly comparison?: string;
  readonly indication?: string;
  readonly findings?: string;
  readonly impression?: string;
  readonly major?: readonly string[];
  readonly minor?: readonly string[];
}

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function openIXml(record: FixtureRecord): string {
  const section = (label: string, text: string | undefined): string =>
    text === undefined || text === '' ? `<AbstractText Label="${label}"/>` : `<AbstractText Label="${label}">${escape(text)}</AbstractText>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<eCitation>
  <meta type="rr"/>
  <MedlineCitation Owner="Test" Status="supplied by publisher">
    <Article PubModel="Electronic">
      <ArticleTitle>Test record</ArticleTitle>
      <Abstract>
        ${section('COMPARISON', record.comparison)}
        ${section('INDICATION', record.indication)}
        ${section('FINDINGS', record.findings)}
        ${section('IMPRESSION', record.impression)}
      </Abstract>
    </Article>
  </MedlineCitation>
  <MeSH>
    ${(record.major ?? []).map((t) => `<major>${escape(t)}</major>`).join('\n    ')}
    ${(record.minor ?? []).map((t) => `<minor>${escape(t)}</minor>`).join('\n    ')}
  </MeSH>
</eCitation>
`;
}
