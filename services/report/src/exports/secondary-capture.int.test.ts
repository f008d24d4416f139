import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, test } from 'vitest';
import { parseInstance, SopClass } from '@cxr/dicom';
import { dcmtk, problemLines, renderRgb } from './dcmtk-tools.ts';
import { OVERLAY_SERIES_DESCRIPTION, OverlaySourceMissingError, overlayUids, toOverlaySecondaryCapture } from './secondary-capture.ts';
import { draftReportFixture, findingFixture, signedReportFixture, sourceStudyFixture } from './report-fixtures.test-support.ts';

// Renders the Secondary Capture objects with DCMTK's dcm2pnm and compares them with the overlay PNG.

const dir = mkdtempSync(join(tmpdir(), 'report-sc-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const source = sourceStudyFixture();

/** A colourful RGB test image: every channel varies, so a swapped or shifted channel shows. */
async function overlayPng(width: number, height: number, alpha = false): Promise<{ png: Buffer; rgb: Buffer }> {
  const channels = alpha ? 4 : 3;
  const pixels = Buffer.alloc(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      pixels[i] = (x * 7 + y) & 0xff;
      pixels[i + 1] = (y * 5) & 0xff;
      pixels[i + 2] = (x * 3 + y * 11) & 0xff;
      if (alpha) pixels[i + 3] = 255;
    }
  }
  const png = await sharp(pixels, { raw: { width, height, channels } }).png().toBuffer();
  const rgb = await sharp(png).removeAlpha().raw().toBuffer();
  return { png, rgb };
}

async function render(bytes: Buffer, name: string): Promise<{ width: number; height: number; rgb: Buffer }> {
  const file = join(dir, `${name}.dcm`);
  writeFileSync(file, bytes);
  const rendered = await renderRgb(file, join(dir, `${name}.ppm`));
  expect(rendered.output.code).toBe(0);
  expect(problemLines(rendered.output)).toEqual([]);
  return rendered;
}

describe('toOverlaySecondaryCapture', () => {
  test('writes the overlay as an RGB Secondary Capture that DCMTK renders to the same pixels', async () => {
    const { png, rgb } = await overlayPng(120, 144);
    const report = draftReportFixture();
    const bytes = await toOverlaySecondaryCapture({ report, finding: report.findings[0]!, source, overlayPng: png, now: new Date('2026-01-05T12:00:00Z') });
    const rendered = await render(bytes, 'draft');
    expect([rendered.width, rendered.height]).toEqual([120, 144]);
    expect(rendered.rgb.equals(rgb)).toBe(true);

    const file = join(dir, 'draft.dcm');
    const dump = await dcmtk('dcmdump', ['+L', file]);
    expect(dump.code).toBe(0);
    expect(problemLines(dump)).toEqual([]);
    const elements = dump.stdout;
    expect(elements).toContain('(0008,0016) UI =SecondaryCaptureImageStorage');
    expect(elements).toContain('(0008,0008) CS [DERIVED\\SECONDARY]');
    expect(elements).toContain(`(0008,103e) LO [${OVERLAY_SERIES_DESCRIPTION}]`);
    expect(elements).toContain('(0008,0064) CS [WSD]');
    expect(elements).toContain('(0028,0004) CS [RGB]');
    expect(elements).toContain('(0028,0301) CS [YES]');
    expect(elements).toContain('(0010,0020) LO [SYN000042]');
    expect(elements).toContain('(0020,000d) UI [1.2.826.0.1.3680043.8.498.101]');
    expect(elements).toContain('(0020,0020) CS [L\\F]');
    expect(elements).toMatch(/\(0020,4000\) LT \[AI-generated heatmap overlay, not for diagnosis\..*AI-generated draft, not reviewed or signed/);
    expect(elements).toMatch(/\(0008,2111\) ST \[Colour-mapped heatmap of cxr-reference 0\.1\.0 for "Pleural effusion" \(probability 0\.91, threshold 0\.50, present in the report, right lower lung zone\)/);
    // Source Image Sequence and Referenced Image Sequence both name the DX image it was made from.
    expect(elements).toMatch(/SourceImageSequence[\s\S]*\(0008,1150\) UI =DigitalXRayImageStorageForPresentation[\s\S]*\(0008,1155\) UI \[1\.2\.826\.0\.1\.3680043\.8\.498\.103\][\s\S]*\(0008,0100\) SH \[121322\]/);
    expect(elements).toMatch(/ReferencedImageSequence[\s\S]*\(0008,1155\) UI \[1\.2\.826\.0\.1\.3680043\.8\.498\.103\]/);

    const parsed = parseInstance(bytes);
    expect(parsed.sopClassUid).toBe(SopClass.SecondaryCaptureImageStorage);
    expect(parsed.sopInstanceUid).toBe(overlayUids(report, report.findings[0]!).sopInstanceUid);
  });

  test('flattens an overlay with an alpha channel to the same RGB pixels', async () => {
    const { png, rgb } = await overlayPng(33, 21, true);
    const report = signedReportFixture();
    const bytes = await toOverlaySecondaryCapture({ report, finding: report.findings[1]!, source, overlayPng: png });
    const rendered = await render(bytes, 'alpha');
    expect([rendered.width, rendered.height]).toEqual([33, 21]);
    expect(rendered.rgb.equals(rgb)).toBe(true);
  });

  test('puts each finding in the same overlay series with its own stable instance UID', () => {
    const report = draftReportFixture();
    const [a, b] = report.findings.map((f) => overlayUids(report, f));
    expect(a!.seriesInstanceUid).toBe(b!.seriesInstanceUid);
    expect(a!.sopInstanceUid).not.toBe(b!.sopInstanceUid);
    expect(overlayUids(report, report.findings[0]!)).toEqual(a);
    expect(overlayUids(draftReportFixture({ analysisVersion: 2 }), report.findings[0]!).seriesInstanceUid).not.toBe(a!.seriesInstanceUid);
  });

  test('refuses an overlay whose source image is not among the originals', async () => {
    const { png } = await overlayPng(8, 8);
    const report = draftReportFixture({ findings: [findingFixture({ sopInstanceUid: '1.2.3.999' })] });
    await expect(toOverlaySecondaryCapture({ report, finding: report.findings[0]!, source, overlayPng: png })).rejects.toThrow(OverlaySourceMissingError);
  });
});
