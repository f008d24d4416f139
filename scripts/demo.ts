/**
 * `npm run demo`: pushes a few synthetic chest radiograph studies to a running system (start it
 * with `npm start` in another terminal), the way a PACS would (DCMTK dcmsend and STOW-RS), waits
 * for their drafts and prints the report URLs.
 *
 * Without DCMTK (no `dcmsend` on PATH) every study goes by STOW-RS, and the demo says so.
 *
 * The images are synthetic phantoms and the model is a reference model trained on them:
 * nothing here says anything about real patients.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dcmsend, hasCommand, stowRs, waitFor } from '@cxr/devstack';
import { mintDevToken } from '@cxr/platform';
import { makeChestStudy, type ChestStudyOptions } from '@cxr/phantom/dicom';

const ingestUrl = process.env.DEMO_INGEST_URL ?? `http://127.0.0.1:${process.env.INGEST_HTTP_PORT ?? 8080}`;
const reportUrl = process.env.DEMO_REPORT_URL ?? `http://127.0.0.1:${process.env.REPORT_HTTP_PORT ?? 8090}`;
const dimse = { host: '127.0.0.1', port: Number(process.env.INGEST_DIMSE_PORT ?? 11112), calledAeTitle: process.env.INGEST_AE_TITLE ?? 'INGEST', callingAeTitle: 'DEMOPACS' };
const apiKey = process.env.DEMO_STOW_API_KEY;

const cases: { label: string; via: 'dimse' | 'stow-rs'; options: ChestStudyOptions }[] = [
  { label: 'right upper zone nodule', via: 'dimse', options: { seed: 1, findings: [{ code: 'nodule', side: 'right', zone: 'upper', tier: 'obvious' }] } },
  { label: 'left pleural effusion (CR, MONOCHROME1)', via: 'stow-rs', options: { seed: 2, modality: 'CR', photometric: 'MONOCHROME1', findings: [{ code: 'pleural_effusion', side: 'left', tier: 'obvious' }] } },
  { label: 'cardiomegaly, STAT', via: 'dimse', options: { seed: 3, priority: 'STAT', findings: [{ code: 'cardiomegaly', tier: 'obvious' }] } },
  { label: 'normal study', via: 'stow-rs', options: { seed: 4, findings: [] } },
];

const canSendDimse = hasCommand('dcmsend');
if (!canSendDimse) {
  console.log('dcmsend (DCMTK) is not installed: sending every study by STOW-RS instead (apt-get install -y dcmtk to send by DIMSE too).');
}

// A development token (the services accept them unless AUTH_MODE=oidc); the viewer link carries one too.
const radiologistToken = await mintDevToken({ role: 'radiologist', name: 'Dr Demo', ...(process.env.AUTH_DEV_SECRET ? { secret: process.env.AUTH_DEV_SECRET } : {}) });
const authHeader = { Authorization: `Bearer ${radiologistToken}` };

const dir = mkdtempSync(join(tmpdir(), 'cxr-demo-'));
try {
  const sent: { label: string; studyUid: string }[] = [];
  // Rendered before sending, so the sends follow each other closely: several seconds of rendering
  // between two STOW-RS requests let the server's keep-alive timeout (5 s) close the connection
  // just as the next request is written on it (EPIPE).
  const studies = cases.map((c) => ({ c, study: makeChestStudy(c.options) }));
  for (const { c, study } of studies) {
    const via = c.via === 'dimse' && !canSendDimse ? 'stow-rs' : c.via;
    if (via === 'dimse') {
      const file = join(dir, `${c.options.seed}.dcm`);
      writeFileSync(file, study.file);
      await dcmsend([file], dimse);
    } else {
      const res = await stowRs(ingestUrl, [study.file], apiKey ? { apiKey } : {});
      if (res.status !== 200) throw new Error(`STOW-RS answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
    console.log(`sent (${via.padEnd(7)}) ${c.label}`);
    sent.push({ label: c.label, studyUid: study.studyInstanceUid });
  }
  console.log('\nWaiting for drafts ...\n');
  for (const s of sent) {
    const url = `${reportUrl}/api/studies/${s.studyUid}/report`;
    const report = await waitFor(`the draft for ${s.label}`, async () => {
      const res = await fetch(url, { headers: authHeader });
      if (res.status !== 200) return undefined;
      const body = (await res.json()) as { status: string; findings: { code: string; positive: boolean; probability: number; overlayUrl: string }[]; sections: { impression: string } };
      return body.status === 'pending' ? undefined : body;
    }, 120_000, 500);
    const positives = report.findings.filter((f) => f.positive);
    console.log(`${s.label}\n  status:     ${report.status}\n  report:     ${url}\n  viewer:     ${reportUrl}/viewer?study=${s.studyUid}#token=${radiologistToken}\n  impression: ${report.sections.impression}`);
    for (const f of positives) console.log(`  ${f.code} (p=${f.probability.toFixed(2)}): ${f.overlayUrl}`);
    console.log('');
  }
  console.log(`API calls need a bearer token: npm run token -- --role radiologist (curl -H "Authorization: Bearer <token>" ...).`);
  console.log('These are AI-generated drafts from a reference model trained on synthetic images; not for clinical use.');
} catch (error) {
  // One line, not a stack trace: the usual causes are a system not started or a sender missing.
  const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
  const reason = error instanceof Error ? `${error.message.split('\n')[0]}${cause}` : String(error);
  console.error(`npm run demo: ${reason} (is the system running? start it with \`npm start\` in another terminal)`);
  process.exitCode = 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
