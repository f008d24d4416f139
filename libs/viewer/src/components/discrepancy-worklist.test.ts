import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import type { Discrepancy } from '@cxr/contracts';
import { ReportApiClient } from '../api-client.ts';
import { DiscrepancyWorklist } from './DiscrepancyWorklist.tsx';

// Server rendering: no effects run, so nothing is fetched; the markup is what the first paint shows.
const api = new ReportApiClient({ baseUrl: '', getToken: () => null, fetch: () => Promise.reject(new Error('no fetch in this test')) });

function discrepancy(overrides: Partial<Discrepancy> = {}): Discrepancy {
  return {
    id: 'a'.repeat(32),
    studyInstanceUid: '1.2.826.0.1.3680043.8.498.1',
    finalReportId: 'b'.repeat(32),
    source: 'hl7-oru',
    code: 'pleural_effusion',
    display: 'Pleural effusion',
    kind: 'ai-positive-report-absent',
    reportStatus: 'absent',
    reportSentence: 'No pleural effusion.',
    evidence: { sopInstanceUid: '1.2.826.0.1.3680043.8.498.2', probability: 0.96, threshold: 0.5, heatmapUrl: 'https://r.test/h.png?sig=1', overlayUrl: 'https://r.test/o.png?sig=1' },
    reportStatusAtArrival: 'signed',
    createdAt: '2026-12-04T10:00:00.000Z',
    review: null,
    ...overrides,
  };
}

const render = (items: Discrepancy[]) => renderToStaticMarkup(createElement(DiscrepancyWorklist, { api, onOpen: () => undefined, initialItems: items }));

describe('the peer-review tab', () => {
  test('shows each discrepancy with its heatmap, the AI probability against the threshold and the report sentence', () => {
    const html = render([discrepancy()]);
    expect(html).toContain('data-testid="discrepancy" data-kind="ai-positive-report-absent" data-code="pleural_effusion"');
    expect(html).toContain('AI positive, report says absent');
    expect(html).toContain('src="https://r.test/o.png?sig=1"');
    expect(html).toContain('96% vs threshold 50%');
    expect(html).toContain('<td data-testid="report-sentence">No pleural effusion.</td>');
    expect(html).toContain('trained on synthetic images only');
  });

  test('an open discrepancy offers the three review calls; a finding the report does not mention says so', () => {
    const html = render([discrepancy({ kind: 'ai-positive-report-silent', reportStatus: 'not_mentioned', reportSentence: null })]);
    for (const id of ['review-confirmed-miss', 'review-ai-wrong', 'review-not-clinically-relevant']) expect(html).toContain(`data-testid="${id}"`);
    expect(html).toContain('<em>not mentioned</em>');
  });

  test('a reviewed discrepancy shows the call and the reviewer instead of the buttons', () => {
    const html = render([discrepancy({ review: { outcome: 'ai-wrong', comment: null, reviewer: { sub: 'r1', name: 'Dr. Reader', role: 'radiologist' }, reviewedAt: '2026-12-04T11:00:00.000Z' } })]);
    expect(html).toContain('AI wrong by Dr. Reader');
    expect(html).not.toContain('data-testid="review-ai-wrong"');
  });

  test('no discrepancies says so', () => {
    expect(render([])).toContain('No discrepancies.');
  });
});
