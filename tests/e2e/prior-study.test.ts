import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { reportResponseSchema, worklistResponseSchema, type ReportResponse } from '@cxr/contracts';
import { OrthancProcess, freePort, orthancMissing, startStack, stowRs, waitFor, type Stack } from '@cxr/devstack';
import { mintDevToken } from '@cxr/platform';
import { makeChestStudy, type ChestStudy } from '@cxr/phantom/dicom';

/**
 * The prior study end to end: Orthanc (Debian's, with its DICOMweb plugin) is the PACS and holds
 * an earlier radiograph of the patient without an effusion; the current study, with an obvious
 * right effusion, is pushed to ingest by STOW-RS. Ingest finds the prior in Orthanc by QIDO-RS,
 * fetches it by WADO-RS, has it analysed, and the draft's COMPARISON says the effusion is new
 * since the prior's date, matching the two phantoms' ground truth; the report names the prior for
 * the viewer. All three services run as processes with the reference model.
 */
const missing = orthancMissing();

/** Orthanc as the PACS that holds the prior, with QIDO-RS and WADO-RS on. */
class PriorPacs extends OrthancProcess {
  static async start(): Promise<PriorPacs> {
    const launch = { httpPort: await freePort(), dicomPort: await freePort(), dicomWeb: true, config: { Name: 'cxr-e2e-priors', DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: true } } };
    const started = await OrthancProcess.launch(launch);
    return new PriorPacs(launch, started.child, started.dir, started.exited, started.logTail);
  }
}

let stack: Stack;
let pacs: PriorPacs;
let dir: string;
let authorization: { Authorization: string };

async function draftOf(study: ChestStudy): Promise<ReportResponse> {
  return waitFor('the current study\'s draft', async () => {
    const res = await fetch(`${stack.reportUrl}/api/studies/${study.studyInstanceUid}/report`, { headers: authorization });
    if (res.status !== 200) return undefined;
    const report = reportResponseSchema.parse(await res.json());
    return ['draft', 'failed', 'not-eligible'].includes(report.status) ? report : undefined;
  }, 150_000, 250);
}

describe.skipIf(missing !== undefined)('the prior study from the PACS', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cxr-e2e-priors-'));
    authorization = { Authorization: `Bearer ${await mintDevToken({ role: 'viewer' })}` };
    pacs = await PriorPacs.start();
    stack = await startStack({
      dataDir: dir, resetS3: true, redisAppendOnly: false,
      env: {
        INGEST_STUDY_STABLE_MS: '1000',
        INGEST_PRIORS_WAIT_MS: '60000',
        INGEST_PRIORS_PACS: JSON.stringify([{ name: 'orthanc', kind: 'dicomweb', url: `${pacs.httpUrl}/dicom-web/` }]),
      },
    });
  }, 180_000);

  afterAll(async () => {
    await stack?.stop();
    await pacs?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an effusion absent on the prior in the PACS is reported as new since its date, under the order\'s question, which the impression answers, and the prior stays off the worklist', async () => {
    const patientId = 'E2E-PRIOR-0001';
    const prior = makeChestStudy({ seed: 3101, patientId, studyDate: '20261102', findings: [] });
    const current = makeChestStudy({
      seed: 3102, patientId, findings: [{ code: 'pleural_effusion', side: 'right', tier: 'obvious' }],
      // The order's clinical question, as a RIS puts it in the images.
      order: { reason: 'SOB. ? pleural effusion ? pneumothorax', requestedProcedureDescription: 'XR CHEST PA' },
    });
    expect((await pacs.request('POST', '/instances', prior.file, 'application/dicom')).status, pacs.log()).toBe(200);

    expect((await stowRs(stack.ingestUrl, [current.file])).status).toBe(200);
    const report = await draftOf(current);
    expect(report.status).toBe('draft');
    expect(report.findings.filter((f) => f.positive).map((f) => f.code)).toContain('pleural_effusion');
    // The phantoms' truth: no effusion on 2026-11-02, one now.
    // INDICATION: the question as asked; the impression answers it, the positive finding first.
    expect(report.sections.indication).toContain('? pleural effusion ? pneumothorax');
    expect(report.text).toMatch(/INDICATION:\n.*pleural effusion.*\n\nCOMPARISON:\n/);
    expect(report.sections.impression).toMatch(/^[^.]*pleural effusion[^.]*\./i);
    expect(report.sections.impression).toMatch(/No pneumothorax\./);
    expect(report.sections.comparison).toMatch(/^Compared with 2026-11-02: .*new (right |bilateral )?[a-z ]*pleural effusion/i);
    expect(report.text).toContain('COMPARISON:\nCompared with 2026-11-02');
    expect(report.priorStudy).toMatchObject({ studyInstanceUid: prior.studyInstanceUid, studyDate: '2026-11-02' });
    expect(report.priorStudy!.findings.find((f) => f.code === 'pleural_effusion')?.positive).toBe(false);

    // The prior was analysed for the comparison, but is nobody's work: marked as a prior, and only the
    // current study is on the worklist.
    expect(report.role).toBeUndefined();
    const priorReport = reportResponseSchema.parse(await (await fetch(`${stack.reportUrl}/api/studies/${prior.studyInstanceUid}/report`, { headers: authorization })).json());
    expect(priorReport.role).toBe('prior');
    const worklist = worklistResponseSchema.parse(await (await fetch(`${stack.reportUrl}/api/studies?limit=200`, { headers: authorization })).json());
    expect(worklist.items.map((i) => i.studyInstanceUid)).toEqual([current.studyInstanceUid]);
  });
});
