import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reportResponseSchema, type ReportEditRequest, type ReportResponse } from '@cxr/contracts';
import { REPO_ROOT, startStack, stowRs, waitFor, type Stack } from '@cxr/devstack';
import { writeGreyImageInstance } from '@cxr/dicom';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { mintDevToken } from '@cxr/platform';

/**
 * The standalone viewer in a real Chromium against the whole stack (redis-server, s3rver, the three
 * services as processes): a phantom study with a nodule is pushed by STOW-RS, and a radiologist opens
 * its AI draft at `/viewer`, looks at the overlay, edits, decides, saves, meets a stale save, signs
 * and adds an addendum. What the page did is checked through the API. Screenshots of each step go to
 * tests/browser/screenshots/. The steps share one page and run in order.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(REPO_ROOT, 'tests', 'browser', 'screenshots');
const SIGNER = 'Dr Test';

let stack: Stack;
let dir: string;
let browser: Browser;
let page: Page;
let token: string;
let studyUid: string;
const cspViolations: string[] = [];
const pageErrors: string[] = [];

async function api(path: string, init: { method?: string; etag?: string; body?: unknown } = {}): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${token}` };
  if (init.etag) headers['If-Match'] = init.etag;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  return fetch(`${stack.reportUrl}${path}`, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
}

async function getReport(): Promise<ReportResponse> {
  const res = await api(`/api/studies/${studyUid}/report`);
  expect(res.status).toBe(200);
  const report = reportResponseSchema.parse(await res.json());
  expect(res.headers.get('etag')).toBe(report.etag);
  return report;
}

let shot = 0;
async function screenshot(name: string): Promise<void> {
  shot += 1;
  await page.screenshot({ path: join(SCREENSHOTS, `${String(shot).padStart(2, '0')}-${name}.png`), fullPage: true });
}

const byTestId = (id: string): Locator => page.getByTestId(id);
const finding = (code: string): Locator => page.locator(`[data-testid="finding"][data-code="${code}"]`);
const overlay = (code: string): Locator => page.locator(`[data-testid="overlay-image"][data-code="${code}"]`);

// page.evaluate callbacks run in the browser; the tests' tsconfig has no DOM lib, so the few
// browser globals used are typed here.
interface BrowserGlobals {
  sessionStorage: { getItem(key: string): string | null };
  getComputedStyle(element: unknown): { opacity: string };
}

/** The image finished loading and has pixels (signed URL accepted, CSP allowed it). */
async function imageLoaded(image: Locator): Promise<boolean> {
  return image.evaluate((img) => {
    const element = img as unknown as { complete: boolean; naturalWidth: number };
    return element.complete && element.naturalWidth > 0;
  });
}

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'cxr-browser-'));
  stack = await startStack({ dataDir: dir, resetS3: true, redisAppendOnly: false, env: { INGEST_STUDY_STABLE_MS: '1000', LOG_LEVEL: 'info' } });
  token = await mintDevToken({ role: 'radiologist', name: SIGNER });

  const study = makeChestStudy({ seed: 303, findings: [{ code: 'nodule', side: 'right', zone: 'upper', tier: 'obvious', sizeMm: 22 }] });
  studyUid = study.studyInstanceUid;
  const { status } = await stowRs(stack.ingestUrl, [study.file]);
  expect(status).toBe(200);
  const draft = await waitFor(
    'the AI draft of the pushed study',
    async () => {
      const res = await api(`/api/studies/${studyUid}/report`);
      if (res.status !== 200) return undefined;
      const report = reportResponseSchema.parse(await res.json());
      return ['draft', 'failed', 'not-eligible'].includes(report.status) ? report : undefined;
    },
    120_000,
    250,
  );
  expect(draft.status).toBe('draft');
  expect(draft.findings.some((f) => f.code === 'nodule' && f.positive)).toBe(true);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the standalone viewer in Chromium', () => {
  test('opens the draft from ?study= with the token from the fragment, under the AI-draft banner', async () => {
    const res = await page.goto(`${stack.reportUrl}/viewer?study=${studyUid}#token=${token}`);
    expect(res?.status(), 'GET /viewer on the report service (app.ts mounts viewerRoutes())').toBe(200);
    expect(res?.headers()['content-security-policy']).toContain("script-src 'self'");

    await byTestId('ai-draft-banner').waitFor();
    await expect.poll(() => byTestId('ai-draft-banner').innerText()).toMatch(/AI-generated draft — not reviewed or signed/);
    expect(await byTestId('ai-draft-banner').innerText()).toMatch(/synthetic images, not for clinical use/);
    expect(await byTestId('model-id').innerText()).toMatch(/reference-cxr/);
    expect(await byTestId('study-uid').innerText()).toBe(studyUid);
    // The token left the address bar for sessionStorage.
    expect(page.url()).not.toContain('token=');
    expect(await page.evaluate(() => (globalThis as unknown as BrowserGlobals).sessionStorage.getItem('cxr-viewer-token'))).toBe(token);

    await finding('nodule').waitFor();
    expect(await finding('nodule').getAttribute('data-positive')).toBe('true');
    expect(await finding('nodule').getByTestId('finding-probability').innerText()).toMatch(/\d+% vs threshold \d+%/);
    // The location the page shows is the one the API computed from the heatmap (side and zone words).
    const located = (await getReport()).findings.find((f) => f.code === 'nodule' && f.positive)!;
    const location = await finding('nodule').getByTestId('finding-location').innerText();
    for (const word of [located.side, located.zone]) if (word) expect(location).toContain(word);
    await expect.poll(() => imageLoaded(byTestId('image-preview'))).toBe(true);
    await expect.poll(() => imageLoaded(overlay('nodule'))).toBe(true);
    await expect.poll(() => byTestId('live-state').innerText()).toBe('Live updates on');
    await screenshot('draft-opened');
  });

  test('toggling the overlay hides and shows it, and the slider changes its opacity', async () => {
    expect(await overlay('nodule').isVisible()).toBe(true);
    await finding('nodule').getByTestId('overlay-toggle').uncheck();
    await expect.poll(() => overlay('nodule').isVisible()).toBe(false);
    expect(await overlay('nodule').getAttribute('data-visible')).toBe('false');
    await screenshot('overlay-hidden');

    await finding('nodule').getByTestId('overlay-toggle').check();
    await expect.poll(() => overlay('nodule').isVisible()).toBe(true);
    const opacityOf = () => overlay('nodule').evaluate((img) => (globalThis as unknown as BrowserGlobals).getComputedStyle(img).opacity);
    expect(await opacityOf()).toBe('0.7');
    const slider = finding('nodule').getByTestId('overlay-opacity');
    await slider.focus();
    for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft');
    await expect.poll(opacityOf).toBe('0.5');
    expect(await finding('nodule').getByTestId('overlay-opacity-value').innerText()).toBe('50%');
    await screenshot('overlay-opacity-50');
  });

  test('pointing at a grounded sentence outlines its finding’s region', async () => {
    const sentence = page.locator('[data-testid="grounded-sentence"][data-code="nodule"]').first();
    expect(await sentence.count()).toBe(1);
    await sentence.hover();
    const report = await getReport();
    const nodule = report.findings.find((f) => f.code === 'nodule')!;
    // The contract allows a finding without a region (no hot area); the phantom's obvious nodule has one.
    expect(nodule.region).not.toBeNull();
    await byTestId('region-outline').waitFor();
    expect(await byTestId('region-outline').getAttribute('data-code')).toBe('nodule');
    expect(await sentence.getAttribute('aria-pressed')).toBe('true');
    await screenshot('sentence-highlight');
    await page.mouse.move(0, 0);
  });

  test('edits and decisions are saved with the ETag, as the API then shows', async () => {
    const before = await getReport();
    const impression = 'Right upper zone nodule, 2 cm. CT chest recommended. (edited in browser test)';
    await byTestId('impression-text').fill(impression);
    const positives = before.findings.filter((f) => f.positive);
    for (const f of positives) {
      // Accept the nodule the phantom has; reject anything else the model calls positive.
      await finding(f.code).getByTestId(f.code === 'nodule' ? 'accept' : 'reject').click();
    }
    expect(await byTestId('sign-blocked').count()).toBe(0);
    await screenshot('edited-unsaved');
    await byTestId('save').click();
    await expect.poll(() => byTestId('status-message').innerText().catch(() => '')).toMatch(/^Saved \(revision \d+\)/);

    const after = await getReport();
    expect(after.sections.impression).toBe(impression);
    expect(after.edited).toBe(true);
    expect(after.revision).toBeGreaterThan(before.revision);
    expect(after.etag).not.toBe(before.etag);
    expect(after.findings.find((f) => f.code === 'nodule')?.decision).toBe('accepted');
    expect(after.findings.filter((f) => f.positive && !f.decision)).toEqual([]);
    expect(await byTestId('report-revision').innerText()).toContain(`Revision ${after.revision}`);
    await screenshot('saved');
  });

  test('a save after someone else changed the report shows the 412 message, and reload brings their change', async () => {
    await byTestId('impression-text').fill('My second edit, about to be stale.');
    const current = await getReport();
    const theirs: ReportEditRequest = {
      sections: { findings: current.sections.findings, impression: 'Changed by another radiologist.' },
      decisions: current.findings.map((f) => ({ code: f.code, sopInstanceUid: f.sopInstanceUid, decision: f.decision })),
    };
    const put = await api(`/api/studies/${studyUid}/report`, { method: 'PUT', etag: current.etag, body: theirs });
    expect(put.status).toBe(200);

    await byTestId('save').click();
    await expect.poll(() => byTestId('error-message').innerText().catch(() => '')).toMatch(/Someone else changed this report: reload/);
    expect((await getReport()).sections.impression).toBe('Changed by another radiologist.');
    await screenshot('stale-save-412');

    await byTestId('reload-report').click();
    await expect.poll(() => byTestId('impression-text').inputValue()).toBe('Changed by another radiologist.');
    expect(await byTestId('save').isDisabled()).toBe(true);
  });

  test('a change made elsewhere while nothing is edited here shows up live, without a reload', async () => {
    const current = await getReport();
    const theirs: ReportEditRequest = {
      sections: { findings: current.sections.findings, impression: 'Right upper zone nodule. Changed live elsewhere.' },
      decisions: current.findings.map((f) => ({ code: f.code, sopInstanceUid: f.sopInstanceUid, decision: f.decision })),
    };
    expect((await api(`/api/studies/${studyUid}/report`, { method: 'PUT', etag: current.etag, body: theirs })).status).toBe(200);
    await expect.poll(() => byTestId('impression-text').inputValue(), { timeout: 10_000 }).toBe('Right upper zone nodule. Changed live elsewhere.');
    expect(await byTestId('status-message').innerText()).toMatch(/^Report updated \(revision \d+\)/);
  });

  test('signing shows the signed state with the signer, and the API agrees', async () => {
    await byTestId('attest').check();
    await byTestId('sign').click();
    await byTestId('signed-state').waitFor();
    expect(await byTestId('signer-name').innerText()).toBe(SIGNER);
    expect(await byTestId('signed-state').innerText()).toMatch(/^Signed by Dr Test on /);
    expect(await byTestId('report-status').innerText()).toBe('Signed');
    expect(await byTestId('ai-draft-banner').count()).toBe(0);
    expect(await byTestId('impression-text').getAttribute('readonly')).not.toBeNull();
    expect(await finding('nodule').getByTestId('accept').isDisabled()).toBe(true);

    const signed = await getReport();
    expect(signed.signed).toBe(true);
    expect(signed.status).toBe('signed');
    expect(signed.signature?.signedBy.name).toBe(SIGNER);
    expect(await byTestId('signed-at').getAttribute('datetime')).toBe(signed.signature?.signedAt);
    await screenshot('signed');
  });

  test('an addendum to the signed report is added and listed', async () => {
    await byTestId('addendum-text').fill('Addendum: compared with prior, unchanged.');
    await byTestId('add-addendum').click();
    await expect.poll(() => byTestId('addenda').innerText().catch(() => '')).toContain('Addendum: compared with prior, unchanged.');
    const report = await getReport();
    expect(report.addenda.map((a) => a.text)).toEqual(['Addendum: compared with prior, unchanged.']);
    expect(report.addenda[0]?.author.name).toBe(SIGNER);
    await screenshot('addendum');
  });

  test('the worklist lists the study and opens it', async () => {
    await byTestId('back-to-worklist').click();
    await byTestId('worklist').waitFor();
    await byTestId('worklist-status').selectOption('signed');
    const row = page.locator(`[data-testid="worklist-item"][data-study-instance-uid="${studyUid}"]`);
    await row.waitFor();
    await screenshot('worklist');
    await row.getByRole('button').click();
    await byTestId('signed-state').waitFor();
    expect(page.url()).toContain(`study=${studyUid}`);
  });

  test('a study the model was not built for shows the out-of-scope banner instead of findings', async () => {
    // A phantom shown inverted: the model refuses it for its polarity, whatever its tags say.
    const study = makeChestStudy({ seed: 304 });
    const inverted = Float32Array.from(study.phantom.pixels, (v) => 1 - v);
    const file = writeGreyImageInstance({
      image: { width: study.phantom.width, height: study.phantom.height, data: inverted },
      pixelSpacingMm: study.phantom.pixelSpacingMm, modality: 'DX', photometric: 'MONOCHROME2',
      patient: { id: 'SYN-BROWSER-2', name: 'PHANTOM^BROWSER', sex: 'O' },
      study: { instanceUid: study.studyInstanceUid, accessionNumber: 'ACCBROWSER2', description: 'CHEST PA (synthetic phantom)' },
      series: { instanceUid: study.seriesInstanceUid, number: 1, description: 'PA' },
      sopInstanceUid: study.sopInstanceUid, bodyPart: 'CHEST', viewPosition: 'PA',
    });
    expect((await stowRs(stack.ingestUrl, [file])).status).toBe(200);
    await waitFor('the out-of-scope study', async () => {
      const res = await api(`/api/studies/${study.studyInstanceUid}/report`);
      return res.status === 200 && (reportResponseSchema.parse(await res.json())).status === 'out-of-scope' ? true : undefined;
    }, 90_000, 250);
    await page.goto(`${stack.reportUrl}/viewer?study=${study.studyInstanceUid}#token=${token}`);
    const banner = byTestId('out-of-scope-banner');
    await banner.waitFor();
    expect(await byTestId('report-status').textContent()).toBe("Outside the AI model's scope");
    expect(await byTestId('out-of-scope-reason').textContent()).toMatch(/^The AI model was not built for this image: the image appears inverted/);
    expect(await byTestId('out-of-scope-reason').getAttribute('data-check')).toBe('polarity');
    expect(await page.locator('[data-testid="finding"]').count()).toBe(0);
    await screenshot('out-of-scope');
  });

  test('nothing was blocked by the Content-Security-Policy and the page threw no error', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
