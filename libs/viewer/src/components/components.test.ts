import { createElement } from 'react';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, test } from 'vitest';
import { ReportApiClient } from '../api-client.ts';
import { FIXTURE_SOP_UID, fixtureReport } from '../testing/fixture-report.test-support.ts';
import { ImageWithOverlays } from './ImageWithOverlays.tsx';
import { ReviewWorkspace } from './ReviewWorkspace.tsx';

// Server rendering: no effects run, so nothing is fetched; the markup is what the first paint shows.
const api = new ReportApiClient({ baseUrl: '', getToken: () => null, fetch: () => Promise.reject(new Error('no fetch in this test')) });
const render = (report = fixtureReport()) => renderToStaticMarkup(createElement(ReviewWorkspace, { api, studyInstanceUid: report.studyInstanceUid, initialReport: report }));

describe('the review components', () => {
  test('an unsigned draft shows the AI-draft banner with the model id and version', () => {
    const html = render();
    expect(html).toContain('data-testid="ai-draft-banner"');
    expect(html).toContain('AI-generated draft — not reviewed or signed');
    expect(html).toContain('Reference model trained on synthetic images, not for clinical use.');
    expect(html).toContain('reference-cxr 0.3.0');
  });

  test('each finding shows probability against threshold, confidence and location, and only positives ask for a decision', () => {
    const html = render();
    expect(html).toMatch(/data-testid="finding" data-code="nodule"[^>]*data-positive="true"/);
    expect(html).toContain('82% vs threshold 50%');
    expect(html).toContain('High confidence');
    expect(html).toContain('right upper zone');
    expect((html.match(/data-testid="accept"/g) ?? []).length).toBe(1);
    expect(html).toContain('Needs your decision');
    expect(html).toContain('Accept or reject every finding the AI reports as present before signing (1 left)');
  });

  test('a sentence whose location disagrees with its heatmap carries a visible warning', () => {
    const report = fixtureReport();
    const conflict = 'Location disagrees: the text says lower zone, the heatmap points at the upper zone.';
    const html = render({ ...report, sentences: report.sentences.map((s, i) => (i === 0 ? { ...s, conflict } : s)) });
    expect((html.match(/data-testid="sentence-conflict"/g) ?? []).length).toBe(1);
    expect(html).toContain(`${conflict} Check the image before accepting.`);
    expect(render()).not.toContain('sentence-conflict');
  });

  test('a draft the consistency checks changed says so, with each change listed under an expandable note', () => {
    const textEdits = [
      { section: 'findings' as const, rule: 'malformed' as const, original: 'A large mm mass in the right upper zone.', replacement: 'Lung mass in the right upper zone (high confidence).', detail: 'a unit without a number ("mm")' },
      { section: 'findings' as const, rule: 'negates-positive' as const, original: 'No pneumothorax.', replacement: null },
    ];
    const html = render(fixtureReport({ textEdits }));
    expect(html).toMatch(/<details[^>]*data-testid="text-edits"/);
    expect(html).toContain('Edited by consistency checks (2 changes to the model&#x27;s text)');
    expect(html).toMatch(/data-rule="malformed"[^>]*>.*<del>A large mm mass in the right upper zone\.<\/del> → <ins>Lung mass in the right upper zone \(high confidence\)\.<\/ins>/);
    expect(html).toMatch(/data-rule="negates-positive"[^>]*>.*<del>No pneumothorax\.<\/del>/);
    expect(render()).not.toContain('text-edits');
    expect(render(fixtureReport({ textEdits: [] }))).not.toContain('text-edits');
  });

  test('shows the order\'s clinical question above the findings, and no indication when there is none', () => {
    const report = fixtureReport();
    const html = render({ ...report, sections: { ...report.sections, indication: '? pneumothorax after line insertion' } });
    expect(html).toContain('<h3 id="cxr-indication-heading">Indication</h3>');
    expect(html).toContain('<p data-testid="indication-text">? pneumothorax after line insertion</p>');
    expect(html.indexOf('data-testid="indication"')).toBeLessThan(html.indexOf('data-testid="findings-text"'));
    expect(render()).not.toContain('data-testid="indication"');
  });

  test('an answer to the clinical question is listed among the draft\'s changes', () => {
    const report = fixtureReport();
    const html = render({ ...report, textEdits: [{ section: 'impression', rule: 'answers-question', original: null, replacement: 'No pneumothorax.', detail: 'the indication asks about pneumothorax ("? pneumothorax")' }] });
    expect(html).toMatch(/data-rule="answers-question"[^>]*>.*answers the clinical question/);
  });

  test('the text areas, overlay controls and buttons have labels', () => {
    const html = render();
    expect(html).toMatch(/<label for="cxr-findings-text">Findings<\/label>/);
    expect(html).toMatch(/<label for="cxr-impression-text">Impression<\/label>/);
    expect(html).toContain('Show heatmap overlay');
    expect(html).toMatch(/role="group" aria-label="Your decision on Nodule"/);
    expect(html).toContain('Right upper zone nodule.</textarea>');
  });

  test('overlay images follow each finding’s visibility and opacity, and a highlight outlines its region', () => {
    const report = fixtureReport();
    const html = renderToStaticMarkup(
      createElement(ImageWithOverlays, {
        report,
        overlays: { [`nodule@${FIXTURE_SOP_UID}`]: { visible: true, opacity: 0.4 }, [`pleural_effusion@${FIXTURE_SOP_UID}`]: { visible: false, opacity: 0.7 } },
        highlight: { findingKey: `nodule@${FIXTURE_SOP_UID}`, region: { x: 0.2, y: 0.15, width: 0.2, height: 0.2 } },
      }),
    );
    expect(html).toMatch(/<img[^>]*style="opacity:0.4"[^>]*data-code="nodule" data-visible="true"/);
    expect(html).toMatch(/<img[^>]*hidden=""[^>]*data-code="pleural_effusion" data-visible="false"/);
    expect(html).toMatch(/data-testid="region-outline" data-code="nodule" style="left:20%;top:15%;width:20%;height:20%"/);
    expect(html).toContain('Overlays shown: Nodule');
  });

  test('a signed report shows the signer and time, read-only text and an addendum form', () => {
    const html = render(
      fixtureReport({
        status: 'signed',
        signed: true,
        disclaimer: 'Prepared with AI assistance from a reference model trained on synthetic images only; reviewed and signed by',
        signature: { signedBy: { sub: 'u1', name: 'Dr Test', role: 'radiologist' }, signedAt: '2025-01-02T04:00:00Z', revision: 3 },
      }),
    );
    expect(html).not.toContain('data-testid="ai-draft-banner"');
    expect(html).toContain('data-testid="signed-state"');
    expect(html).toMatch(/Signed by <strong data-testid="signer-name">Dr Test<\/strong>/);
    expect(html).toContain('dateTime="2025-01-02T04:00:00Z"');
    expect(html).toMatch(/<textarea id="cxr-impression-text"[^>]*readonly=""/);
    expect(html).toContain('data-testid="add-addendum"');
    expect(html).not.toContain('data-testid="sign"');
  });

  test('a study without a draft says why', () => {
    const html = render(fixtureReport({ status: 'not-eligible', statusReason: 'no pixel data', findings: [], images: [], sentences: [] }));
    expect(html).toContain('Not eligible for AI analysis: no pixel data');
    expect(html).not.toContain('data-testid="findings-panel"');
  });

  test('the prior study the draft was compared with shows beside the current one, with its date, image and own findings', () => {
    const report = fixtureReport();
    const priorStudy = {
      studyInstanceUid: '1.2.826.0.1.3680043.8.498.99',
      studyDate: '2026-11-02',
      images: [{ sopInstanceUid: '1.2.826.0.1.3680043.8.498.100', width: 300, height: 400, previewUrl: 'https://report.example/prior.png' }],
      findings: [
        { code: 'nodule', display: 'Nodule', probability: 0.8, threshold: 0.5, positive: true, side: 'right' as const, zone: 'upper' as const, sopInstanceUid: '1.2.826.0.1.3680043.8.498.100' },
        { code: 'pleural-effusion', display: 'Pleural effusion', probability: 0.1, threshold: 0.5, positive: false, side: null, zone: null, sopInstanceUid: '1.2.826.0.1.3680043.8.498.100' },
      ],
    };
    const comparison = 'Compared with 2026-11-02: the right upper zone nodule is unchanged.';
    const html = render({ ...report, priorStudy, sections: { ...report.sections, comparison } });
    expect(html).toMatch(/class="cxr-review-images cxr-side-by-side"/);
    expect(html).toContain('Prior study, 2026-11-02');
    expect(html).toContain('src="https://report.example/prior.png"');
    expect((html.match(/data-testid="prior-finding"/g) ?? []).length).toBe(1);
    expect(html).toContain('Nodule, right upper zone (80% vs threshold 50%)');
    expect(html).toContain(comparison);
    // The comparison is part of the signed text, so it is editable like findings and impression.
    expect(html).toMatch(/<label for="cxr-comparison-text">Comparison<\/label>/);
    expect(html).toMatch(/data-testid="comparison-text"/);
    // Both sets of findings: the current study's panel is still there.
    expect(html).toContain('data-testid="findings-panel"');
  });

  test('without a prior there is no prior panel, and a comparison that could not be made says why', () => {
    expect(render()).not.toContain('prior-study');
    expect(render()).not.toContain('comparison-text');
    const report = fixtureReport();
    const html = render({ ...report, priorStudy: null, sections: { ...report.sections, comparison: 'None: prior lookup timed out (main: no answer within 10 s); no comparison was made.' } });
    expect(html).not.toContain('data-testid="prior-study"');
    expect(html).toContain('Comparison: None: prior lookup timed out');
  });
});
