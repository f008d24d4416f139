import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { discrepancyListResponseSchema, finalReportResultSchema, reportResponseSchema, type Discrepancy, type ReportResponse } from '@cxr/contracts';
import { generateUid, writeTextSr } from '@cxr/dicom';
import { dcmsend, freePort, startStack, stowRs, waitFor, type Stack } from '@cxr/devstack';
import { mintDevToken } from '@cxr/platform';
import { writeReport } from '@cxr/phantom';
import { makeChestStudy } from '@cxr/phantom/dicom';

/**
 * The second read across the services, all real: a phantom pushed to ingest is analysed by the
 * reference model; then the radiologist's final report for it comes in as an HL7 ORU^R01 over
 * MLLP to the report service's listener, as a FHIR DiagnosticReport, and as a DICOM Basic Text SR
 * sent to ingest with dcmsend. A report denying the phantom's effusion is a discrepancy, one stating
 * a pneumothorax it does not have is another, and the phantom's own report (its truth) is none.
 */
let stack: Stack;
let dir: string;
let hl7Port: number;
const bearer = async (role: 'integration' | 'radiologist' | 'viewer') => ({ Authorization: `Bearer ${await mintDevToken({ role })}` });

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cxr-e2e-second-read-'));
  hl7Port = await freePort();
  stack = await startStack({ dataDir: dir, resetS3: true, redisAppendOnly: false, env: { INGEST_STUDY_STABLE_MS: '1000', REPORT_HL7_PORT: String(hl7Port) } });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Sends one framed message and returns MSA-1 of the ACK. */
function sendMllp(message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(hl7Port, '127.0.0.1');
    let received = Buffer.alloc(0);
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      const end = received.indexOf(0x1c);
      if (end < 0) return;
      socket.destroy();
      const ack = received.subarray(1, end).toString('utf8');
      resolve(ack.split('\r').find((s) => s.startsWith('MSA|'))?.split('|')[1] ?? '');
    });
    socket.on('error', reject);
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from([0x0b]), Buffer.from(message, 'utf8'), Buffer.from([0x1c, 0x0d])])));
  });
}

async function discrepanciesOf(uid: string): Promise<Discrepancy[]> {
  const res = await fetch(`${stack.reportUrl}/api/discrepancies`, { headers: await bearer('radiologist') });
  expect(res.status).toBe(200);
  return discrepancyListResponseSchema.parse(await res.json()).items.filter((d) => d.studyInstanceUid === uid);
}

describe('second read across the services', () => {
  test('a report contradicting the phantom is a discrepancy over HL7, and as a DICOM SR through ingest; the phantom\'s own report over FHIR is none', async () => {
    // A large right pleural effusion: the reference model calls it positive, far above threshold.
    const study = makeChestStudy({ seed: 201, findings: [{ code: 'pleural_effusion', side: 'right', tier: 'obvious', sizeMm: 60 }] });
    expect((await stowRs(stack.ingestUrl, [study.file])).status).toBe(200);
    const report: ReportResponse = await waitFor('the draft', async () => {
      const res = await fetch(`${stack.reportUrl}/api/studies/${study.studyInstanceUid}/report`, { headers: await bearer('viewer') });
      if (res.status !== 200) return undefined;
      const body = reportResponseSchema.parse(await res.json());
      return body.status === 'draft' ? body : undefined;
    }, 120_000, 250);
    expect(report.findings.find((f) => f.code === 'pleural_effusion')).toMatchObject({ positive: true, confidence: 'high' });
    expect(report.findings.find((f) => f.code === 'pneumothorax')).toMatchObject({ positive: false, confidence: 'high' });

    // HL7 ORU^R01, study named by accession number only, denying the nodule.
    const obr = Array.from({ length: 26 }, () => '');
    obr[0] = 'OBR';
    obr[1] = '1';
    obr[18] = study.accessionNumber;
    obr[25] = 'F';
    const oru = [
      'MSH|^~\\&|RIS|HOSP|CXR|AI|20261204101500||ORU^R01|E2E-1|P|2.5.1',
      obr.join('|'),
      'OBX|1|TX|&GDT^FINDINGS||The lungs are clear.~No pleural effusion. No pneumothorax.',
      'OBX|2|TX|&IMP^IMPRESSION||No acute cardiopulmonary abnormality.',
    ].join('\r');
    expect(await sendMllp(oru)).toBe('AA');
    const afterHl7 = await discrepanciesOf(study.studyInstanceUid);
    expect(afterHl7.map((d) => [d.source, d.code, d.kind, d.reportSentence])).toEqual([['hl7-oru', 'pleural_effusion', 'ai-positive-report-absent', 'No pleural effusion.']]);

    // FHIR with the phantom's own report (written from its ground truth): no discrepancy.
    const truth = writeReport(study.phantom.findings.map((f) => ({ code: f.code, side: f.side, zone: f.zone, sizeMm: f.sizeMm })));
    const agreeing = `FINDINGS:\n${truth.findings}\n\nIMPRESSION:\n${truth.impression}`;
    const fhir = await fetch(`${stack.reportUrl}/fhir/DiagnosticReport`, {
      method: 'POST',
      headers: { ...(await bearer('integration')), 'Content-Type': 'application/fhir+json' },
      body: JSON.stringify({
        resourceType: 'DiagnosticReport',
        id: 'e2e-agree',
        status: 'final',
        imagingStudy: [{ identifier: { system: 'urn:dicom:uid', value: `urn:oid:${study.studyInstanceUid}` } }],
        presentedForm: [{ contentType: 'text/plain', data: Buffer.from(agreeing).toString('base64') }],
      }),
    });
    expect(fhir.status).toBe(201);
    expect(finalReportResultSchema.parse(await fhir.json()).discrepancies).toEqual([]);

    // A signed Basic Text SR sent to ingest over DIMSE, with a pneumothorax the phantom does not have.
    const sr = writeTextSr({
      studyInstanceUid: study.studyInstanceUid,
      seriesInstanceUid: generateUid(),
      sopInstanceUid: generateUid(),
      accessionNumber: study.accessionNumber,
      sections: [{ heading: 'Findings', texts: ['Large right pleural effusion.', 'Small left apical pneumothorax.'] }, { heading: 'Impression', texts: ['Right pleural effusion. Left pneumothorax.'] }],
    });
    const file = join(dir, 'final-report-sr.dcm');
    writeFileSync(file, sr);
    await dcmsend([file], { host: stack.dimse.host, port: stack.dimse.port, calledAeTitle: stack.dimse.aeTitle });
    const fromSr = await waitFor('the SR discrepancy', async () => {
      const found = (await discrepanciesOf(study.studyInstanceUid)).filter((d) => d.source === 'dicom-sr');
      return found.length > 0 ? found : undefined;
    }, 30_000, 250);
    expect(fromSr.map((d) => [d.code, d.kind])).toEqual([['pneumothorax', 'report-positive-ai-negative']]);

    // The draft was not touched, and the SR did not make a new study version.
    const after = reportResponseSchema.parse(await (await fetch(`${stack.reportUrl}/api/studies/${study.studyInstanceUid}/report`, { headers: await bearer('viewer') })).json());
    expect(after).toMatchObject({ etag: report.etag, revision: report.revision, analysisVersion: report.analysisVersion });
  }, 240_000);
});
