import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { AI_DRAFT_DISCLAIMER } from '@cxr/contracts';
import { parseInstance, SopClass } from '@cxr/dicom';
import { dcmtk, problemLines } from './dcmtk-tools.ts';
import { srUids, toDicomSr } from './dicom-sr.ts';
import { readHeaderAttributes } from './part10.ts';
import { NothingToExportError } from './report-content.ts';
import { draftReportFixture, findingFixture, signedReportFixture, sourceStudyFixture } from './report-fixtures.test-support.ts';

// Runs DCMTK's dsrdump and dcmdump (Debian package `dcmtk`) on the SR documents built here.

const dir = mkdtempSync(join(tmpdir(), 'report-sr-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const source = sourceStudyFixture();
let fileCounter = 0;

async function dump(bytes: Buffer): Promise<{ tree: string; elements: string }> {
  fileCounter += 1;
  const file = join(dir, `sr-${fileCounter}.dcm`);
  writeFileSync(file, bytes);
  const sr = await dcmtk('dsrdump', ['+Pc', '+Pl', '+Pt', '+Pu', file]);
  const dump = await dcmtk('dcmdump', ['+L', file]);
  expect(sr.code).toBe(0);
  expect(dump.code).toBe(0);
  expect(problemLines(sr)).toEqual([]);
  expect(problemLines(dump)).toEqual([]);
  return { tree: sr.stdout, elements: dump.stdout };
}

describe('toDicomSr', () => {
  test('writes a draft as a partial, unverified Comprehensive SR that dsrdump reads without a warning', async () => {
    const bytes = toDicomSr(draftReportFixture(), source, { now: new Date('2026-01-05T12:00:00Z') });
    const { tree, elements } = await dump(bytes);
    expect(tree).toContain('Comprehensive SR Document');
    expect(tree).toMatch(/Completion Flag\s+: PARTIAL/);
    expect(tree).toMatch(/Verification Flag\s+: UNVERIFIED/);
    expect(tree).toContain('<CONTAINER:(18748-4,LN,"Diagnostic Imaging Report")=SEPARATE>');
    expect(tree).toContain('TID 2000 (DCMR)');
    expect(tree).toContain(`<contains TEXT:(121106,DCM,"Comment")="${AI_DRAFT_DISCLAIMER}">`);
    expect(tree).toContain('<has obs context CODE:(121005,DCM,"Observer Type")=(121007,DCM,"Device")>');
    expect(tree).toContain('<has obs context TEXT:(121013,DCM,"Device Observer Name")="cxr-reference">');
    expect(tree).toContain('<has concept mod TEXT:(111001,DCM,"Algorithm Name")="cxr-reference">');
    expect(tree).toContain('<contains TEXT:(121071,DCM,"Finding")="Right pleural effusion. No pneumothorax.">');
    expect(tree).toContain('<contains CODE:(121071,DCM,"Finding")=(60046008,SCT,"Pleural effusion")>');
    expect(tree).toContain('<has properties CODE:(705057003,SCT,"Presence")=(52101004,SCT,"Present")>');
    expect(tree).toContain('<has properties NUM:(111012,DCM,"Certainty of Finding")="91" (%,UCUM,"percent")>');
    expect(tree).toContain('<has properties NUM:(threshold,99CXR,"Operating threshold of the model")="50" (%,UCUM,"percent")>');
    expect(tree).toContain('<has concept mod CODE:(272741003,SCT,"Laterality")=(24028007,SCT,"Right")>');
    expect(tree).toContain('<has concept mod TEXT:(363698007,SCT,"Finding Site")="right lower lung zone">');
    // The region: 0.1..0.4 of 400 columns, 0.6..0.85 of 480 rows, selected from the source image.
    expect(tree).toContain('<inferred from SCOORD:(111030,DCM,"Image Region")=(POLYLINE,40/288,160/288,160/408,40/408,40/288)>');
    expect(tree).toContain('<selected from IMAGE:=(DX image,"1.2.826.0.1.3680043.8.498.103")>');
    expect(tree).toContain('<inferred from IMAGE:=(DX image,"1.2.826.0.1.3680043.8.498.103")>');
    // The uncoded negative finding uses the model's own code in the local scheme.
    expect(tree).toContain('<contains CODE:(121071,DCM,"Finding")=(mass,99CXR,"Lung mass")>');
    expect(tree).toContain('<has properties CODE:(705057003,SCT,"Presence")=(272519000,SCT,"Absent")>');
    expect(tree).toContain('<contains CONTAINER:(19005-8,LN,"Impressions")=SEPARATE>');
    expect(tree).toContain('<contains TEXT:(121073,DCM,"Impression")="Right pleural effusion.">');
    expect(tree).not.toContain('Person Observer Name');
    // Patient and study copied from the source, evidence pointing at the source image.
    expect(elements).toContain('(0010,0010) PN [PHANTOM^SYNTHETIC^Q^DR]');
    expect(elements).toContain('(0010,0020) LO [SYN000042]');
    expect(elements).toContain('(0008,0050) SH [ACC0000042]');
    expect(elements).toContain('(0020,000d) UI [1.2.826.0.1.3680043.8.498.101]');
    expect(elements).toContain('(0008,0060) CS [SR]');
    expect(elements).toContain('(0040,a496) CS [PRELIMINARY]');
    expect(elements).not.toContain('VerifyingObserverSequence');
    expect(elements).toMatch(/CurrentRequestedProcedureEvidenceSequence[\s\S]*\(0020,000e\) UI \[1\.2\.826\.0\.1\.3680043\.8\.498\.102\][\s\S]*\(0008,1155\) UI \[1\.2\.826\.0\.1\.3680043\.8\.498\.103\]/);
    // ASCII only: no Specific Character Set needed (DCMTK 3.6 warns on ISO_IR 192).
    expect(elements).not.toContain('SpecificCharacterSet');
  });

  test('writes a signed report as complete and verified, with the signer as verifying observer and the addenda', async () => {
    const { tree, elements } = await dump(toDicomSr(signedReportFixture({ addenda: true }), source, { organization: 'Synthetic Hospital' }));
    expect(tree).toMatch(/Completion Flag\s+: COMPLETE/);
    expect(tree).toMatch(/Verification Flag\s+: VERIFIED/);
    expect(tree).toMatch(/Verifying Observers\s+: 2026-01-05 10:45:00.*Dr Ada Lovelace.*Synthetic Hospital/);
    expect(tree).toContain('<has obs context CODE:(121005,DCM,"Observer Type")=(121006,DCM,"Person")>');
    expect(tree).toContain('<has obs context PNAME:(121008,DCM,"Person Observer Name")="Dr Ada Lovelace">');
    expect(tree).toContain('reviewed and signed by Dr Ada Lovelace');
    expect(tree).toContain('<has properties TEXT:(review,99CXR,"Radiologist review of the AI finding")="Accepted by the radiologist">');
    expect(tree).toContain('<contains TEXT:(55107-7,LN,"Addendum")="2026-01-05T11:00:00.000Z Dr Ada Lovelace: Compared with outside film: unchanged.">');
    expect(elements).toContain('(0040,a496) CS [FINAL]');
    expect(elements).toContain('(0020,0013) IS [4]');
  });

  test('writes the COMPARISON as its own section before the findings, and none when the report has none', async () => {
    const report = draftReportFixture();
    const comparison = 'Compared with 2026-11-02: new right pleural effusion.';
    const { tree } = await dump(toDicomSr({ ...report, sections: { ...report.sections, comparison } }, source, { now: new Date('2026-01-05T12:00:00Z') }));
    expect(tree).toContain('<contains CONTAINER:(18834-2,LN,"Radiology Comparison study")=SEPARATE>');
    expect(tree).toContain(`<contains TEXT:(121071,DCM,"Finding")="${comparison}">`);
    expect(tree.indexOf('Radiology Comparison study')).toBeLessThan(tree.indexOf('(59776-5,LN,"Findings")'));
    expect((await dump(toDicomSr(report, source, { now: new Date('2026-01-05T12:00:00Z') }))).tree).not.toContain('18834-2');
  });

  test('gives a revision the same SOP Instance UID every time, and a new revision a new one', () => {
    const first = parseInstance(toDicomSr(draftReportFixture(), source));
    const again = parseInstance(toDicomSr(draftReportFixture(), source));
    const later = parseInstance(toDicomSr(draftReportFixture({ revision: 2 }), source));
    expect(first.sopClassUid).toBe(SopClass.ComprehensiveSR);
    expect(again.sopInstanceUid).toBe(first.sopInstanceUid);
    expect(later.sopInstanceUid).not.toBe(first.sopInstanceUid);
    expect(later.seriesInstanceUid).toBe(first.seriesInstanceUid);
    expect(first.sopInstanceUid).toBe(srUids(draftReportFixture()).sopInstanceUid);
  });

  test('declares UTF-8 when a name is not ASCII, and keeps the text intact', async () => {
    const utf8Source = sourceStudyFixture({ patient: { ...source.patient, name: 'MÜLLER^ZOË' } });
    const report = draftReportFixture({ findings: [findingFixture({ display: 'Épanchement pleural', coding: null })] });
    const bytes = toDicomSr(report, utf8Source);
    const attributes = readHeaderAttributes(bytes);
    expect(attributes.SpecificCharacterSet).toBe('ISO_IR 192');
    expect(attributes.PatientName).toEqual([{ Alphabetic: 'MÜLLER^ZOË' }]);
    const file = join(dir, 'utf8.dcm');
    writeFileSync(file, bytes);
    const sr = await dcmtk('dsrdump', ['+U8', '+Pc', file]);
    expect(sr.code).toBe(0);
    // DCMTK 3.6's VR checker does not know ISO_IR 192 and says so; nothing else may be wrong.
    expect(problemLines(sr).filter((line) => !line.includes('does not support this Specific Character Set: ISO_IR 192'))).toEqual([]);
    expect(sr.stdout).toContain('MÜLLER^ZOË');
    expect(sr.stdout).toContain('(pleural_effusion,99CXR,"Épanchement pleural")');
  });

  test('writes an 18-digit SNOMED CT code as a Long Code Value that dsrdump reads', async () => {
    const report = draftReportFixture({ findings: [findingFixture({ coding: { system: 'http://snomed.info/sct', code: '1234567890123456789', display: 'Long coded finding' } })] });
    const { tree, elements } = await dump(toDicomSr(report, source));
    expect(elements).toContain('(0008,0119) UC [1234567890123456789]');
    expect(tree).toContain('=(1234567890123456789,SCT,"Long coded finding")>');
  });

  test('names the images the AI model refused as outside its scope in a comment, and no finding comes from them', async () => {
    const refused = { sopInstanceUid: '1.2.826.0.1.3680043.8.498.104', check: 'polarity' as const, reason: 'The AI model was not built for this image: the image appears inverted', score: 20.1, limit: 8.9 };
    const { tree } = await dump(toDicomSr(draftReportFixture({ outOfScopeImages: [refused] }), source));
    expect(tree).toContain(`<contains TEXT:(121106,DCM,"Comment")="AI not applied to 1 image (no AI findings from it): ${refused.sopInstanceUid}: ${refused.reason}">`);
    expect(tree).not.toContain(`IMAGE:=(DX image,"${refused.sopInstanceUid}")`);
  });

  test('carries the clinical question in an Indications for Procedure container before the findings, which dsrdump reads', async () => {
    const draft = draftReportFixture();
    const report = draftReportFixture({ sections: { ...draft.sections, indication: '? pneumothorax after line insertion' } });
    const { tree } = await dump(toDicomSr(report, source));
    expect(tree).toContain('<contains CONTAINER:(18785-6,LN,"Indications for Procedure")=SEPARATE>');
    expect(tree).toContain('<contains TEXT:(55115-0,LN,"Request")="? pneumothorax after line insertion">');
    expect(tree.indexOf('Indications for Procedure')).toBeLessThan(tree.indexOf('(59776-5,LN,"Findings")'));
  });

  test('has no Indications for Procedure container when the report has no indication', async () => {
    const { tree } = await dump(toDicomSr(draftReportFixture(), source));
    expect(tree).not.toContain('Indications for Procedure');
  });

  test('refuses an out-of-scope study: the model read none of its images, so there is no draft', () => {
    expect(() => toDicomSr(draftReportFixture({ status: 'out-of-scope', findings: [], model: null }), source)).toThrow(NothingToExportError);
  });

  test('refuses a report that has no draft', () => {
    expect(() => toDicomSr(draftReportFixture({ status: 'pending', findings: [], model: null }), source)).toThrow(NothingToExportError);
  });
});
