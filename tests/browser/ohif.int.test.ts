import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reportResponseSchema, type ReportResponse } from '@cxr/contracts';
import { fetchOhifDist, OHIF_VERSION, orthancMissing, REPO_ROOT, startStack, stowRs, waitFor, type Stack } from '@cxr/devstack';
import { buildRuntimeBundle } from '@cxr/ohif-extension/runtime-bundle';
import { makeChestStudy } from '@cxr/phantom/dicom';
import { mintDevToken } from '@cxr/platform';
import { OrthancPacs, startOhifHost, type OhifHost } from './ohif-host.test-support.ts';

/**
 * Our extension inside a real, prebuilt OHIF v3 (`@ohif/app`'s published `dist/`, fetched with
 * `npm pack`), in Chromium: OHIF's DICOMweb data source reads the study from a real Orthanc (the
 * PACS), the extension is added the way the README tells a hospital to (its runtime bundle named
 * by URL in `window.config.extensions`, its panel pushed onto the longitudinal mode's right panels
 * by a `customizationService` mode block), and the report service behind it is the whole stack.
 * A radiologist opens the study in OHIF's longitudinal viewer, finds the AI report panel with the
 * study's findings, toggles an overlay, accepts the finding, saves and signs; the report service's
 * API must then show the decision and the signature. Then the AI results as DICOM objects, stored in
 * Orthanc: OHIF draws the PMAP and the binary SEG over the radiograph, declines the fractional SEG,
 * and on Yes to its SR prompt lists the TID 1500 SR's located findings in its tracked measurements
 * panel. Screenshots go to tests/browser/screenshots/.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOTS = join(REPO_ROOT, 'tests', 'browser', 'screenshots');
const SIGNER = 'Dr OHIF';
const PANEL_ID = '@cxr/ohif-extension.panelModule.aiReport';
const orthancAbsent = orthancMissing();

let stack: Stack;
let pacs: OrthancPacs;
let host: OhifHost;
let dir: string;
let browser: Browser;
let page: Page;
let token: string;
let studyUid: string;
const pageErrors: string[] = [];
const consoleErrors: string[] = [];
const consoleLog: string[] = [];

async function getReport(): Promise<ReportResponse> {
  const res = await fetch(`${stack.reportUrl}/api/studies/${studyUid}/report`, { headers: { Authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return reportResponseSchema.parse(await res.json());
}

/** The hospital's app config: OHIF's DICOMweb data source on Orthanc, and our extension added. */
function appConfig(): string {
  return `window.config = {
  routerBasename: null,
  extensions: ['/cxr/cxr-ohif-extension.js'],
  modes: [],
  showStudyList: true,
  maxNumberOfWebWorkers: 2,
  showWarningMessageForCrossOrigin: false,
  showCPUFallbackMessage: false,
  showLoadingIndicator: true,
  investigationalUseDialog: { option: 'never' },
  defaultDataSourceName: 'orthanc',
  dataSources: [{
    namespace: '@ohif/extension-default.dataSourcesModule.dicomweb',
    sourceName: 'orthanc',
    configuration: {
      friendlyName: 'Orthanc (test PACS)',
      name: 'orthanc',
      wadoUriRoot: window.location.origin + '/dicom-web',
      qidoRoot: window.location.origin + '/dicom-web',
      wadoRoot: window.location.origin + '/dicom-web',
      qidoSupportsIncludeField: false,
      imageRendering: 'wadors',
      thumbnailRendering: 'wadors',
      enableStudyLazyLoad: true,
      supportsFuzzyMatching: false,
      supportsWildcard: true,
      omitQuotationForMultipartRequest: true,
      bulkDataURI: { enabled: true },
    },
  }],
  customizationService: {
    mode: { '@ohif/mode-longitudinal': { rightPanels: { $push: [${JSON.stringify(PANEL_ID)}] } } },
  },
  cxrAiReport: { reportApiUrl: '', getToken: () => ${JSON.stringify(token)} },
};
`;
}

let shot = 0;
async function screenshot(name: string): Promise<void> {
  shot += 1;
  await page.screenshot({ path: join(SCREENSHOTS, `ohif-${String(shot).padStart(2, '0')}-${name}.png`) });
}

/** The parts of OHIF's services (on `window.services`) the tests read. */
interface OhifServices {
  cornerstoneViewportService?: { getRenderingEngine?: () => { getViewports?: () => Array<{ getActors?: () => unknown[] }> } | undefined };
  displaySetService: { getActiveDisplaySets: () => OhifDisplaySet[] };
  segmentationService?: {
    getSegmentations: () => Array<{ segmentationId: string; segments?: Record<string, { label: string } | undefined> }>;
    getSegmentationRepresentations: (viewportId: string, specifier: { segmentationId: string }) => unknown[];
  };
  measurementService?: {
    getMeasurements: () => Array<{ label?: string; toolName?: string; referencedImageId?: string; points?: unknown[]; finding?: { CodeMeaning?: string } }>;
  };
}
interface OhifDisplaySet {
  Modality: string;
  isLoaded?: boolean;
  isHydrated?: boolean;
  isRehydratable?: boolean;
  loadError?: unknown;
  measurements?: Array<{
    TrackingIdentifier?: string;
    loaded?: boolean;
    coords?: Array<{ GraphicData?: number[]; ReferencedSOPSequence?: { ReferencedSOPInstanceUID: string } | Array<{ ReferencedSOPInstanceUID: string }> }>;
  }>;
}

const panel = (): Locator => page.getByTestId('cxr-ohif-panel');
const finding = (code: string): Locator => panel().locator(`[data-testid="finding"][data-code="${code}"]`);

describe.skipIf(orthancAbsent)(`our extension inside OHIF ${OHIF_VERSION} in Chromium`, () => {
  beforeAll(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    const ohifDist = fetchOhifDist();
    dir = mkdtempSync(join(tmpdir(), 'cxr-ohif-'));
    await buildRuntimeBundle(join(dir, 'extension'));
    stack = await startStack({ dataDir: join(dir, 'stack'), resetS3: true, redisAppendOnly: false, env: { INGEST_STUDY_STABLE_MS: '1000', LOG_LEVEL: 'info' } });
    pacs = await OrthancPacs.start();
    token = await mintDevToken({ role: 'radiologist', name: SIGNER });

    const study = makeChestStudy({ seed: 404, findings: [{ code: 'nodule', side: 'right', zone: 'upper', tier: 'obvious', sizeMm: 22 }] });
    studyUid = study.studyInstanceUid;
    await pacs.store(study.file);
    expect((await stowRs(stack.ingestUrl, [study.file])).status).toBe(200);
    const draft = await waitFor(
      'the AI draft of the pushed study',
      async () => {
        const res = await fetch(`${stack.reportUrl}/api/studies/${studyUid}/report`, { headers: { Authorization: `Bearer ${token}` } });
        if (res.status !== 200) return undefined;
        const report = reportResponseSchema.parse(await res.json());
        return ['draft', 'failed', 'not-eligible'].includes(report.status) ? report : undefined;
      },
      120_000,
      250,
    );
    expect(draft.status).toBe('draft');

    host = await startOhifHost({ ohifDist, extensionDir: join(dir, 'extension'), appConfig: appConfig(), orthancUrl: pacs.httpUrl, reportUrl: stack.reportUrl });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--use-gl=swiftshader', '--enable-unsafe-swiftshader'] });
    page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error' || message.type() === 'warning') consoleLog.push(`${message.type()}: ${message.text().slice(0, 300)}`);
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await host?.stop();
    await pacs?.stop();
    await stack?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('OHIF opens the study from Orthanc in the longitudinal viewer, with the AI report panel beside it', async () => {
    await page.goto(`${host.url}/viewer?StudyInstanceUIDs=${studyUid}`);
    // OHIF's first-visit tour, then the right panel's tab OHIF made for our panel module.
    const skipTour = page.getByText('Skip all');
    await skipTour.waitFor({ timeout: 30_000 }).then(() => skipTour.click(), () => undefined);
    const tab = page.locator('[data-cy$="aiReport-btn"]');
    await tab.waitFor({ timeout: 60_000 }).catch(async (error: unknown) => {
      await screenshot('tab-missing');
      throw new Error(`no AI report tab in OHIF's right panel: ${String(error)}\npage errors: ${pageErrors.join('\n')}\nconsole errors: ${consoleErrors.slice(-20).join('\n')}\ntabs: ${(await page.locator('[data-cy$="-btn"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-cy')))).join(', ')}`);
    });
    await tab.click();
    await panel()
      .waitFor({ timeout: 60_000 })
      .catch(async (error: unknown) => {
        await screenshot('panel-missing');
        throw new Error(`no AI report panel: ${String(error)}\npage errors: ${pageErrors.join('\n')}\nconsole errors: ${consoleErrors.slice(-20).join('\n')}\nproxied: ${host.proxied.slice(-30).join(', ')}`);
      });
    // OHIF itself drew the image: its cornerstone viewport has a canvas, and it fetched the study by QIDO/WADO from Orthanc.
    await page.locator('.cornerstone-viewport-element canvas, [data-viewport-uid] canvas').first().waitFor({ timeout: 60_000 });
    expect(host.proxied.some((r) => r.startsWith(`GET /dicom-web/studies/${studyUid}`))).toBe(true);
    await expect.poll(() => panel().getByTestId('study-uid').innerText(), { timeout: 30_000 }).toBe(studyUid);
    await expect.poll(() => panel().getByTestId('ai-draft-banner').innerText()).toMatch(/AI-generated draft — not reviewed or signed/);
    await finding('nodule').waitFor();
    expect(await finding('nodule').getAttribute('data-positive')).toBe('true');
    await screenshot('study-with-panel');
  });

  test('toggling the nodule overlay in the panel hides and shows it', async () => {
    const overlay = panel().locator('[data-testid="overlay-image"][data-code="nodule"]');
    await overlay.waitFor();
    expect(await overlay.isVisible()).toBe(true);
    await finding('nodule').getByTestId('overlay-toggle').uncheck();
    await expect.poll(() => overlay.isVisible()).toBe(false);
    await finding('nodule').getByTestId('overlay-toggle').check();
    await expect.poll(() => overlay.isVisible()).toBe(true);
  });

  test('accepting the finding, saving and signing in OHIF is what the report service then records', async () => {
    const before = await getReport();
    for (const f of before.findings.filter((x) => x.positive)) {
      await finding(f.code).getByTestId(f.code === 'nodule' ? 'accept' : 'reject').click();
    }
    await panel().getByTestId('save').click();
    await expect.poll(() => panel().getByTestId('status-message').innerText().catch(() => '')).toMatch(/^Saved \(revision \d+\)/);
    await panel().getByTestId('attest').check();
    await panel().getByTestId('sign').click();
    await panel().getByTestId('signed-state').waitFor();
    expect(await panel().getByTestId('signer-name').innerText()).toBe(SIGNER);
    await screenshot('signed-in-ohif');

    const signed = await getReport();
    expect(signed.status).toBe('signed');
    expect(signed.signature?.signedBy.name).toBe(SIGNER);
    expect(signed.findings.find((f) => f.code === 'nodule' && f.positive)?.decision).toBe('accepted');
    expect(signed.findings.filter((f) => f.positive && !f.decision)).toEqual([]);
    // Every call the panel made went through OHIF's origin to the report service.
    expect(host.proxied.some((r) => r === `POST /api/studies/${studyUid}/report/sign` || r.startsWith(`POST /api/studies/${studyUid}/report/sign`))).toBe(true);
  });

  test('the AI results as DICOM objects (TID 1500 SR, fractional and binary SEG, PMAP), stored in Orthanc, are series OHIF lists in the study', async () => {
    for (const kind of ['sr', 'seg', 'seg?type=binary', 'pmap']) {
      const res = await fetch(`${stack.reportUrl}/api/studies/${studyUid}/report/ai-results/${kind}`, { headers: { Authorization: `Bearer ${token}` } });
      expect(res.status, kind).toBe(200);
      expect(res.headers.get('content-type'), kind).toBe('application/dicom');
      await pacs.store(Buffer.from(await res.arrayBuffer()));
    }
    await page.goto(`${host.url}/viewer?StudyInstanceUIDs=${studyUid}`);
    // OHIF's study browser: the image, and one entry per AI-result series, found by its SOP class handler.
    const modalities = page.locator('[data-cy="series-modality-label"]');
    await expect.poll(async () => (await modalities.allInnerTexts()).sort(), { timeout: 60_000 }).toEqual(['DX', 'PMAP', 'SEG', 'SEG', 'SR']);
    const descriptions = await page.locator('[data-cy="series-description-label"]').allInnerTexts();
    for (const what of ['measurement report', 'probability maps', 'probability segments', 'finding areas']) {
      expect(descriptions.some((d) => d.includes(`AI results: ${what}`)), what).toBe(true);
    }
    await screenshot('ai-results-listed');
  });

  /** Opens a series of the study browser in OHIF's active viewport, as a double click on its thumbnail does. */
  async function openSeries(description: string): Promise<void> {
    await page.locator('[data-cy="series-description-label"]', { hasText: description }).first().dblclick();
  }

  /** What OHIF's own services hold (OHIF exposes them on window.services). */
  async function ohifState(): Promise<{ actors: number; displaySets: string[] }> {
    return page.evaluate(() => {
      const services = (globalThis as unknown as { services: OhifServices }).services;
      const viewports = services.cornerstoneViewportService?.getRenderingEngine?.()?.getViewports?.() ?? [];
      const actors = Math.max(0, ...viewports.map((v) => v.getActors?.().length ?? 0));
      const displaySets = (services.displaySetService?.getActiveDisplaySets?.() ?? []).map(
        (d) => `${d.Modality} loaded=${String(d.isLoaded)} hydrated=${String(d.isHydrated)} measurements=${String(d.measurements?.length)} error=${String(d.loadError ?? '')}`,
      );
      return { actors, displaySets };
    });
  }

  /** Polls OHIF's state until `ok`, failing with what OHIF holds and logged. */
  async function until(what: string, ok: (state: Awaited<ReturnType<typeof ohifState>>) => boolean): Promise<void> {
    const start = consoleLog.length;
    await expect
      .poll(async () => ok(await ohifState()), { timeout: 60_000 })
      .toBe(true)
      .catch(async (error: unknown) => {
        await screenshot(`${what}-missing`);
        throw new Error(`${what}: ${String(error)}\nOHIF: ${JSON.stringify(await ohifState())}\nconsole: ${consoleLog.slice(start).slice(-25).join('\n')}\npage errors: ${pageErrors.slice(-5).join('\n')}`);
      });
  }

  test("OHIF 3.13.2 reads the SEG's plane geometry and declines it only as fractional (it draws binary SEGs only)", async () => {
    const start = consoleLog.length;
    await openSeries('AI results: probability segments');
    await expect.poll(() => consoleLog.slice(start).some((l) => l.includes('Fractional segmentations are not yet supported')), { timeout: 60_000 }).toBe(true);
    expect(consoleLog.slice(start).filter((l) => /PixelMeasuresSequence|oblique/i.test(l))).toEqual([]);
  });

  test('OHIF loads the binary SEG (the findings called present, at their thresholds) as a segmentation and draws it over the radiograph', async () => {
    const report = await getReport();
    const present = report.findings.filter((f) => f.positive);
    expect(present.length).toBeGreaterThan(0);
    await page.goto(`${host.url}/viewer?StudyInstanceUIDs=${studyUid}`);
    const start = consoleLog.length;
    await openSeries('AI results: finding areas');
    const segmentations = async (): Promise<Array<{ id: string; segments: string[]; drawnIn: number }>> =>
      page.evaluate(() => {
        const services = (globalThis as unknown as { services: OhifServices }).services;
        const viewportIds = (services.cornerstoneViewportService?.getRenderingEngine?.()?.getViewports?.() ?? []).map((v) => String((v as { id?: string }).id));
        return (services.segmentationService?.getSegmentations() ?? []).map((seg) => ({
          id: seg.segmentationId,
          segments: Object.values(seg.segments ?? {})
            .filter((x): x is { label: string } => Boolean(x))
            .map((x) => x.label),
          drawnIn: viewportIds.filter((id) => (services.segmentationService?.getSegmentationRepresentations(id, { segmentationId: seg.segmentationId }) ?? []).length > 0).length,
        }));
      });
    // One segment per finding called present whose map reaches its threshold somewhere: the nodule's at least.
    await expect
      .poll(async () => (await segmentations()).flatMap((seg) => seg.segments), { timeout: 60_000 })
      .toContain(present.find((f) => f.code === 'nodule')!.display)
      .catch(async (error: unknown) => {
        await screenshot('binary-seg-missing');
        throw new Error(`${String(error)}\nOHIF: ${JSON.stringify(await ohifState())}\nconsole: ${consoleLog.slice(start).slice(-25).join('\n')}`);
      });
    expect((await segmentations()).flatMap((seg) => seg.segments).every((label) => present.some((f) => f.display === label))).toBe(true);
    // Drawn: a labelmap representation in the viewport, over the image (a second actor).
    await expect.poll(async () => (await segmentations()).some((seg) => seg.drawnIn > 0), { timeout: 30_000 }).toBe(true);
    await until('binary-seg', (state) => state.actors > 1);
    expect(consoleLog.slice(start).filter((l) => /not yet supported|oblique/i.test(l))).toEqual([]);
    await screenshot('binary-seg-drawn');
  });

  test('OHIF draws the AI probability map (PMAP) over the radiograph as a second layer of the viewport', async () => {
    await page.goto(`${host.url}/viewer?StudyInstanceUIDs=${studyUid}`);
    await openSeries('AI results: probability maps');
    await until('pmap', (state) => state.actors > 1);
    await screenshot('pmap-drawn');
  });

  test("OHIF's SR handler reads the TID 1500 SR's findings with a region as measurements and puts them on the DX image", async () => {
    await page.goto(`${host.url}/viewer?StudyInstanceUIDs=${studyUid}`);
    await openSeries('AI results: measurement report');
    const report = await getReport();
    const withRegion = report.findings.filter((f) => f.region);
    expect(withRegion.length).toBeGreaterThan(0);
    const parsed = async (): Promise<Array<{ label: string; points: number; sop: string[]; onImage: boolean }>> =>
      page.evaluate(() => {
        const services = (globalThis as unknown as { services: OhifServices }).services;
        const sr = services.displaySetService.getActiveDisplaySets().find((d) => d.Modality === 'SR');
        return ((sr?.isLoaded && sr.measurements) || [])
          .filter((m) => m.coords?.length)
          .map((m) => ({
            label: String(m.TrackingIdentifier),
            onImage: m.loaded === true,
            points: m.coords![0]!.GraphicData?.length ?? 0,
            sop: [m.coords![0]!.ReferencedSOPSequence ?? []].flat().map((r) => r.ReferencedSOPInstanceUID),
          }));
      });
    await expect.poll(async () => (await parsed()).length, { timeout: 60_000 }).toBe(withRegion.length);
    for (const m of await parsed()) {
      expect(m.points, m.label).toBe(10); // the closed polyline: 5 points
      expect(m.sop, m.label).toEqual([withRegion[0]!.sopInstanceUid]);
    }
    // OHIF matched each to the DX image and added it as an SR annotation there (its `loaded`).
    await expect.poll(async () => (await parsed()).every((m) => m.onImage), { timeout: 30_000 }).toBe(true);
    // And OHIF deems the SR rehydratable (a region maps to one of its cornerstone tools): the precondition
    // for its measurement panel (hydration, the next test).
    const rehydratable = await page.evaluate(() => {
      const services = (globalThis as unknown as { services: OhifServices }).services;
      return services.displaySetService.getActiveDisplaySets().find((d) => d.Modality === 'SR')?.isRehydratable;
    });
    expect(rehydratable).toBe(true);
    await screenshot('sr-read');
  });

  test("OHIF's SR hydration puts one measurement per located finding, named by the finding, into its measurement service and tracked measurements panel", async () => {
    const report = await getReport();
    const located = report.findings.filter((f) => f.region);
    expect(located.length).toBeGreaterThan(0);
    // The SR opened in the viewport (previous test): OHIF asks "Do you want to continue tracking
    // measurements for this study?" (its SR hydration prompt); Yes hydrates the SR into its
    // measurement service over the DX it references and shows that image.
    await page.getByText('Do you want to continue tracking measurements for this study?').waitFor({ timeout: 30_000 });
    await page.getByRole('button', { name: 'Yes', exact: true }).click();
    await expect
      .poll(() =>
        page.evaluate(() => {
          const services = (globalThis as unknown as { services: OhifServices }).services;
          return services.displaySetService.getActiveDisplaySets().find((d) => d.Modality === 'SR')?.isHydrated === true;
        }),
      )
      .toBe(true);
    const measurements = async (): Promise<Array<{ label: string; finding: string; tool: string; points: number; onImage: boolean }>> =>
      page.evaluate((sopInstanceUids) => {
        const services = (globalThis as unknown as { services: OhifServices }).services;
        return (services.measurementService?.getMeasurements() ?? []).map((m) => ({
          label: String(m.label ?? ''),
          finding: String(m.finding?.CodeMeaning ?? ''),
          tool: String(m.toolName ?? ''),
          points: m.points?.length ?? 0,
          onImage: sopInstanceUids.some((uid) => String(m.referencedImageId ?? '').includes(`/instances/${uid}/`)),
        }));
      }, located.map((f) => f.sopInstanceUid));
    const expected = located.map((f) => ({
      label: `AI: ${f.display}`,
      finding: f.coding?.display ?? f.display,
      tool: 'RectangleROI', // the region as OHIF's rectangle tool, 4 corners
      points: 4,
      onImage: true,
    }));
    await expect.poll(measurements, { timeout: 30_000 }).toEqual(expected);

    // Its tracked measurements panel lists them by name.
    await page.locator('[data-cy$="trackedMeasurements-btn"]').first().click();
    const rows = page.locator('[data-cy="trackedMeasurements-panel"] [data-cy^="measurement-table-row-"]');
    await expect
      .poll(async () => (await rows.allInnerTexts()).map((t) => t.split('\n').map((l) => l.trim()).find((l) => l.startsWith('AI: ')) ?? t), { timeout: 30_000 })
      .toEqual(expected.map((m) => m.label))
      .catch(async (error: unknown) => {
        await screenshot('tracked-measurements-missing');
        throw new Error(`${String(error)}\ntabs: ${(await page.locator('[data-cy$="-btn"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-cy')))).join(', ')}\npanel: ${await page.locator('[data-cy="trackedMeasurements-panel"]').innerText().catch(() => '(none)')}`);
      });
    await screenshot('sr-measurements-tracked');
  });
});
