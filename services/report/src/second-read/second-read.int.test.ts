import { connect, type Socket } from 'node:net';
import request from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import { analysisIdOf, QUEUES, auditTrailResponseSchema, discrepancyListResponseSchema, discrepancySchema, finalReportResultSchema, objectKeys, reportResponseSchema, type AnalysisResult, type ReportResponse } from '@cxr/contracts';
import { freePort } from '@cxr/devstack';
import { generatePhantom, writeReport, type Phantom } from '@cxr/phantom';
import { Queue } from 'bullmq';
import { generateUid, writeTextSr } from '@cxr/dicom';
import { accessionKeyOf, addJob, createLogger, createWorkerConnection } from '@cxr/platform';
import { reindexReports } from '../state/reindex.ts';
import { ReportStore } from '../state/report-store.ts';
import { startFinalReportsWorker } from '../workers/final-reports.ts';
import { createSecondReadService } from './second-read-service.ts';
import { SecondReadStore } from './second-read-store.ts';
import { FINDING_LABELS, MODEL_FINDING_CODES } from '@cxr/report-text';
import { analysisCompletedEvent, fixtureImage, greyPng, randomKey, studyReceivedEvent } from '../testing/fixtures.test-support.ts';
import { startBackingServers, startReportServiceHarness, type BackingServers, type ReportServiceHarness } from '../testing/report-service.test-support.ts';
import { createHl7Listener } from './hl7-listener.ts';
import { parseHl7Message } from './hl7-message.ts';
import { frameMllp, MllpFramer, type MllpServer } from './mllp-server.ts';

// Real redis-server and s3rver; the report service as main.ts wires it (the harness), with the
// HL7 listener on its own free port. The study is a phantom: its ground truth (a right pleural
// effusion) is what the AI result says, with heatmaps drawn from the phantom's masks.

let servers: BackingServers;
let svc: ReportServiceHarness;
let hl7: MllpServer | undefined;
let hl7Port = 0;
const MAX_HL7_BYTES = 8192;

beforeAll(async () => {
  servers = await startBackingServers('report-second-read-int');
});
afterAll(async () => {
  await servers?.stop();
});
afterEach(async () => {
  await hl7?.close();
  hl7 = undefined;
  await svc?.close();
});

async function start(): Promise<void> {
  svc = await startReportServiceHarness({ redisUrl: servers.redis.url, s3Endpoint: servers.s3.endpoint });
  hl7Port = await freePort();
  hl7 = createHl7Listener({
    service: svc.secondRead,
    logger: createLogger('report', 'silent'),
    metrics: svc.metrics.secondRead,
    options: { host: '127.0.0.1', port: hl7Port, maxMessageBytes: MAX_HL7_BYTES, idleTimeoutMs: 10_000, maxConnections: 8, application: 'CXR-REPORT', facility: 'TEST' },
  });
  await hl7.listen();
}

const bearer = async (role: 'integration' | 'radiologist' | 'admin' | 'viewer') => ({ Authorization: `Bearer ${await svc.token(role, `${role}-1`, `Dr. ${role}`)}` });

interface PhantomStudy {
  uid: string;
  accession: string;
  phantom: Phantom;
  report: ReportResponse;
}

/** A phantom with a right pleural effusion, received and analysed with the AI calling exactly its truth. */
async function phantomStudy(): Promise<PhantomStudy> {
  const phantom = generatePhantom({ seed: 11, size: 64, findings: [{ code: 'pleural_effusion', side: 'right', zone: 'lower', tier: 'obvious' }] });
  const studyKey = randomKey();
  const image = { ...fixtureImage(phantom.width, phantom.height) };
  const accession = `ACC${randomKey().slice(0, 8)}`;
  const received = studyReceivedEvent(studyKey, 1, [image], { accessionKey: accessionKeyOf(accession) });
  await svc.addEvent(received);
  const derived = svc.config.buckets.derived;
  await svc.objects.put(derived, objectKeys.preview(studyKey, image.instanceKey), await greyPng(phantom.width, phantom.height, (x, y) => Math.round(phantom.pixels[y * phantom.width + x]! * 255)), 'image/png');
  const findings = [];
  for (const code of MODEL_FINDING_CODES) {
    const truth = phantom.findings.find((f) => f.code === code);
    const heatmapKey = objectKeys.heatmap(studyKey, 1, image.instanceKey, code);
    await svc.objects.put(derived, heatmapKey, await greyPng(phantom.width, phantom.height, (x, y) => (truth?.mask[y * phantom.width + x] ? 255 : 0)), 'image/png');
    const probability = phantom.labels[code] ? 0.96 : 0.02;
    findings.push({ code, display: FINDING_LABELS[code], coding: null, probability, threshold: 0.5, positive: probability >= 0.5, heatmapKey, peak: truth ? centroid(truth.mask, phantom.width) : { x: 0.5, y: 0.5 } });
  }
  const result: AnalysisResult = {
    schemaVersion: 1,
    analysisId: analysisIdOf(studyKey, 1),
    studyKey,
    version: 1,
    model: { id: 'cxr-reference', version: '0.1.0', sha256: 'ab'.repeat(32), executionProvider: 'cpu' },
    images: [{ instanceKey: image.instanceKey, imageKey: objectKeys.presentationImage(studyKey, image.instanceKey), width: phantom.width, height: phantom.height, findings, text: phantom.reportText }],
    timingsMs: { classify: 1 },
    completedAt: '2026-12-04T10:00:00.000Z',
  };
  const resultKey = objectKeys.analysisResult(studyKey, 1);
  await svc.objects.putJson(derived, resultKey, result);
  await svc.addEvent(analysisCompletedEvent(result, resultKey));
  const report = await waitForDraft(received.studyInstanceUid);
  return { uid: received.studyInstanceUid, accession, phantom, report };
}

function centroid(mask: Uint8Array, width: number): { x: number; y: number } {
  let sx = 0;
  let sy = 0;
  let n = 0;
  mask.forEach((v, i) => {
    if (!v) return;
    sx += i % width;
    sy += Math.floor(i / width);
    n += 1;
  });
  const height = mask.length / width;
  return { x: (sx / n + 0.5) / width, y: (sy / n + 0.5) / height };
}

async function waitForDraft(uid: string): Promise<ReportResponse> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await request(svc.app).get(`/api/studies/${uid}/report`).set(await bearer('viewer'));
    if (res.status === 200 && res.body.status === 'draft') return reportResponseSchema.parse(res.body);
    if (Date.now() > deadline) throw new Error(`no draft: ${JSON.stringify(res.body).slice(0, 300)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The phantom's own truth as report text (what a radiologist who agrees would write). */
function agreeingText(phantom: Phantom): string {
  const text = writeReport(phantom.findings.map((f) => ({ code: f.code, side: f.side, zone: f.zone, sizeMm: f.sizeMm })));
  return `FINDINGS:\n${text.findings}\n\nIMPRESSION:\n${text.impression}`;
}

function oru(options: { controlId: string; uid?: string; accession?: string; findings: string; impression: string; type?: string }): string {
  const obr = Array.from({ length: 26 }, (_, n) => ['OBR', '1', '', options.accession ?? ''][n] ?? '');
  obr[4] = '71046^XR CHEST 2 VIEWS^CPT4';
  obr[18] = options.accession ?? '';
  obr[25] = 'F';
  return [
    `MSH|^~\\&|RIS|HOSP|CXR|AI|20261204101500||${options.type ?? 'ORU^R01^ORU_R01'}|${options.controlId}|P|2.5.1`,
    'PID|1||PAT123^^^HOSP^MR||DOE^JANE',
    obr.join('|'),
    `OBX|1|TX|71046&GDT^FINDINGS^L||${options.findings.split('\n').join('~')}||||||F`,
    `OBX|2|TX|71046&IMP^IMPRESSION^L||${options.impression}||||||F`,
    ...(options.uid ? [`ZDS|${options.uid}^CXR^Application^DICOM`] : []),
  ].join('\r');
}

/** A TCP connection to the listener that sends framed messages and reads framed ACKs. */
class MllpTestClient {
  private readonly framer = new MllpFramer(1 << 20);
  private readonly acks: string[] = [];
  private waiting: (() => void) | null = null;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (data: Buffer) => {
      const found = this.framer.push(data);
      if (found !== 'too-large') this.acks.push(...found.map((b) => b.toString('utf8')));
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on('error', () => undefined);
  }

  static async open(port: number): Promise<MllpTestClient> {
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    return new MllpTestClient(socket);
  }

  write(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  async send(message: string): Promise<{ code: string; text: string; controlId: string }> {
    this.write(frameMllp(message));
    return this.nextAck();
  }

  async nextAck(): Promise<{ code: string; text: string; controlId: string }> {
    const deadline = Date.now() + 15_000;
    while (this.acks.length === 0) {
      if (this.closed) throw new Error('connection closed without an ACK');
      if (Date.now() > deadline) throw new Error('no ACK');
      await new Promise<void>((resolve) => {
        this.waiting = resolve;
        setTimeout(resolve, 100);
      });
    }
    const ack = parseHl7Message(this.acks.shift()!);
    const msa = ack.segments.find((s) => s.name === 'MSA')!;
    return { code: msa.fields[1]!, controlId: msa.fields[2]!, text: msa.fields[3] ?? '' };
  }

  async waitClosed(): Promise<boolean> {
    const deadline = Date.now() + 5000;
    while (!this.closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    return this.closed;
  }

  end(): void {
    this.socket.destroy();
  }
}

async function waitUntil<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function openDiscrepancies(status: 'open' | 'reviewed' = 'open') {
  const res = await request(svc.app).get(`/api/discrepancies?status=${status}`).set(await bearer('radiologist'));
  expect(res.status).toBe(200);
  return discrepancyListResponseSchema.parse(res.body).items;
}

async function metricsText(): Promise<string> {
  return (await request(svc.app).get('/metrics')).text;
}

/** The value of one sample of the Prometheus text, whatever other labels (service) it carries; undefined when absent. */
function metricValue(text: string, name: string, labels: string): number | undefined {
  const wanted = labels.split(',');
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = match[2]!.split(',');
    if (wanted.every((l) => have.includes(l))) return Number(match[3]);
  }
  return undefined;
}

function fhirReport(uid: string, text: string, id: string) {
  return {
    resourceType: 'DiagnosticReport',
    id,
    status: 'final',
    code: { text: 'XR Chest' },
    imagingStudy: [{ identifier: { system: 'urn:dicom:uid', value: `urn:oid:${uid}` } }],
    presentedForm: [{ contentType: 'text/plain', data: Buffer.from(text, 'utf8').toString('base64') }],
  };
}

describe('second read of final reports', () => {
  test('a report over HL7 ORU that contradicts the phantom (no effusion) puts the missed effusion on the worklist, matched by accession number alone', async () => {
    await start();
    const study = await phantomStudy();
    const client = await MllpTestClient.open(hl7Port);
    const ack = await client.send(oru({ controlId: 'MSG-1', accession: study.accession, findings: 'The lungs are clear.\nNo pleural effusion. No pneumothorax.', impression: 'No acute cardiopulmonary abnormality.' }));
    client.end();
    expect(ack).toMatchObject({ code: 'AA', controlId: 'MSG-1' });

    const items = await openDiscrepancies();
    expect(items).toHaveLength(1);
    const [item] = items;
    expect(item).toMatchObject({ studyInstanceUid: study.uid, source: 'hl7-oru', code: 'pleural_effusion', kind: 'ai-positive-report-absent', reportStatus: 'absent', reportSentence: 'No pleural effusion.', review: null });
    expect(item!.evidence.probability).toBe(0.96);
    // The evidence is the AI's heatmap of that image: its signed URL serves the PNG.
    const heatmap = await request(svc.app).get(new URL(item!.evidence.heatmapUrl).pathname + new URL(item!.evidence.heatmapUrl).search);
    expect(heatmap.status).toBe(200);
    expect(heatmap.headers['content-type']).toBe('image/png');

    const metrics = await metricsText();
    expect(metricValue(metrics, 'cxr_second_read_findings_total', 'finding="pleural_effusion",agreement="discrepancy"')).toBe(1);
    expect(metricValue(metrics, 'cxr_second_read_findings_total', 'finding="pneumothorax",agreement="agree"')).toBe(1);
    expect(metricValue(metrics, 'cxr_second_read_final_reports_total', 'source="hl7-oru",outcome="compared"')).toBe(1);

    // The study's own report is not touched.
    const after = await request(svc.app).get(`/api/studies/${study.uid}/report`).set(await bearer('viewer'));
    expect(after.body.etag).toBe(study.report.etag);
    expect(after.body.revision).toBe(study.report.revision);
  });

  test('the same contradiction sent as a FHIR DiagnosticReport, with a pneumothorax the phantom does not have, gives both discrepancies', async () => {
    await start();
    const study = await phantomStudy();
    const res = await request(svc.app)
      .post('/fhir/DiagnosticReport')
      .set(await bearer('integration'))
      .set('Content-Type', 'application/fhir+json')
      .send(JSON.stringify(fhirReport(study.uid, 'FINDINGS:\nLarge right apical pneumothorax. No pleural effusion.\n\nIMPRESSION:\nRight pneumothorax.', 'dr-1')));
    expect(res.status).toBe(201);
    const result = finalReportResultSchema.parse(res.body);
    expect(result.discrepancies.map((d) => [d.code, d.kind]).sort()).toEqual([
      ['pleural_effusion', 'ai-positive-report-absent'],
      ['pneumothorax', 'report-positive-ai-negative'],
    ]);
    expect(result.discrepancies.find((d) => d.code === 'pneumothorax')!.reportSentence).toBe('Large right apical pneumothorax.');
    expect((await openDiscrepancies()).map((d) => d.code).sort()).toEqual(['pleural_effusion', 'pneumothorax']);

    // Pages of one: the cursor gives the other, then nothing more.
    const radiologist = await bearer('radiologist');
    const first = discrepancyListResponseSchema.parse((await request(svc.app).get('/api/discrepancies?limit=1').set(radiologist)).body);
    expect(first.items).toHaveLength(1);
    expect(first.nextCursor).not.toBeNull();
    const second = discrepancyListResponseSchema.parse((await request(svc.app).get(`/api/discrepancies?limit=1&cursor=${first.nextCursor}`).set(radiologist)).body);
    expect(second.items.map((d) => d.id)).not.toEqual(first.items.map((d) => d.id));
    expect(second.nextCursor).toBeNull();
    expect((await request(svc.app).get('/api/discrepancies?cursor=bogus').set(radiologist)).status).toBe(400);
    expect((await request(svc.app).get('/api/discrepancies?status=closed').set(radiologist)).status).toBe(400);
  });

  test('a report that agrees with the phantom produces no discrepancy, over HL7 and over FHIR', async () => {
    await start();
    const study = await phantomStudy();
    const text = agreeingText(study.phantom);
    const [findings, impression] = text.replace('FINDINGS:\n', '').split('\n\nIMPRESSION:\n') as [string, string];
    const client = await MllpTestClient.open(hl7Port);
    const ack = await client.send(oru({ controlId: 'MSG-2', uid: study.uid, findings, impression }));
    // A resend (same control ID and text) is acknowledged again and changes nothing.
    const again = await client.send(oru({ controlId: 'MSG-2', uid: study.uid, findings, impression }));
    client.end();
    expect(ack.code).toBe('AA');
    expect(again).toMatchObject({ code: 'AA', text: 'already taken in' });

    const fhir = await request(svc.app).post(`/api/studies/${study.uid}/final-report`).set(await bearer('integration')).set('Content-Type', 'application/fhir+json').send(JSON.stringify(fhirReport(study.uid, text, 'dr-2')));
    expect(fhir.status).toBe(201);
    expect(fhir.body.discrepancies).toEqual([]);
    expect(fhir.body.findings.find((f: { code: string }) => f.code === 'pleural_effusion')).toEqual({ code: 'pleural_effusion', reportStatus: 'present', agreement: 'agree' });
    expect(await openDiscrepancies()).toEqual([]);
    expect(metricValue(await metricsText(), 'cxr_second_read_final_reports_total', 'source="hl7-oru",outcome="duplicate"')).toBe(1);
  });

  test('malformed HL7 gets AR or AE with the reason, and the listener keeps answering on the same connection', async () => {
    await start();
    const study = await phantomStudy();
    const client = await MllpTestClient.open(hl7Port);
    expect((await client.send('this is not HL7')).code).toBe('AR');
    expect(await client.send(oru({ controlId: 'ADT-1', uid: study.uid, findings: 'x', impression: 'y', type: 'ADT^A01' }))).toMatchObject({ code: 'AR', controlId: 'ADT-1' });
    const unknown = await client.send(oru({ controlId: 'MSG-3', uid: '1.2.826.0.1.3680043.8.498.999999', findings: 'No effusion.', impression: 'Normal.' }));
    expect(unknown).toMatchObject({ code: 'AE', controlId: 'MSG-3' });
    expect(unknown.text).toMatch(/no report is known/);
    const good = await client.send(oru({ controlId: 'MSG-4', uid: study.uid, findings: 'No pleural effusion.', impression: 'Normal.' }));
    client.end();
    expect(good.code).toBe('AA');
  });

  test('an HL7 message over the size limit is refused with AR and its connection closed, before it ends; a new connection is served', async () => {
    await start();
    const study = await phantomStudy();
    const client = await MllpTestClient.open(hl7Port);
    // Start a frame and keep sending: the listener must not wait for the end to refuse it.
    client.write(Buffer.from([0x0b]));
    client.write(Buffer.alloc(MAX_HL7_BYTES + 100, 0x41));
    const ack = await client.nextAck();
    expect(ack.code).toBe('AR');
    expect(ack.text).toMatch(/exceeds 8192 bytes/);
    expect(await client.waitClosed()).toBe(true);

    const next = await MllpTestClient.open(hl7Port);
    expect((await next.send(oru({ controlId: 'MSG-5', uid: study.uid, findings: 'No pleural effusion.', impression: 'Normal.' }))).code).toBe('AA');
    next.end();
  });

  test('malformed or oversized FHIR gets a 400 or 413 OperationOutcome; the wrong role or media type is refused', async () => {
    await start();
    const study = await phantomStudy();
    const auth = await bearer('integration');
    const post = () => request(svc.app).post('/fhir/DiagnosticReport').set(auth).set('Content-Type', 'application/fhir+json');

    const wrongType = await post().send(JSON.stringify({ resourceType: 'Patient' }));
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid' }] });
    expect(wrongType.body.issue[0].diagnostics).toMatch(/not a FHIR DiagnosticReport/);

    const broken = await post().send('{"resourceType": "DiagnosticReport", ');
    expect(broken.status).toBe(400);
    expect(broken.body.resourceType).toBe('OperationOutcome');

    const huge = await post().send(JSON.stringify(fhirReport(study.uid, 'No effusion. '.repeat(60_000), 'dr-huge')));
    expect(huge.status).toBe(413);
    expect(huge.body.resourceType).toBe('OperationOutcome');

    const unknown = await post().send(JSON.stringify(fhirReport('1.2.826.0.1.3680043.8.498.4242', 'No effusion.', 'dr-u')));
    expect(unknown.status).toBe(404);

    const viewer = await request(svc.app).post('/fhir/DiagnosticReport').set(await bearer('viewer')).set('Content-Type', 'application/fhir+json').send(JSON.stringify(fhirReport(study.uid, 'No effusion.', 'dr-v')));
    expect(viewer.status).toBe(403);

    const emptyText = await request(svc.app).post(`/api/studies/${study.uid}/final-report`).set(auth).set('Content-Type', 'text/plain').send('   ');
    expect(emptyText.status).toBe(400);
    const xml = await request(svc.app).post(`/api/studies/${study.uid}/final-report`).set(auth).set('Content-Type', 'application/xml').send('<x/>');
    expect(xml.status).toBe(415);
    expect(await openDiscrepancies()).toEqual([]);
  });

  test('reviewing a discrepancy is recorded in the audit trail and the metrics, once', async () => {
    await start();
    const study = await phantomStudy();
    const taken = await request(svc.app).post(`/api/studies/${study.uid}/final-report`).set(await bearer('integration')).set('Content-Type', 'text/plain').send('FINDINGS: No pleural effusion.\nIMPRESSION: Normal chest.');
    expect(taken.status).toBe(201);
    const [item] = finalReportResultSchema.parse(taken.body).discrepancies;
    expect(item).toBeDefined();

    const radiologist = await bearer('radiologist');
    const reviewed = await request(svc.app).post(`/api/discrepancies/${item!.id}/review`).set(radiologist).send({ outcome: 'confirmed-miss', comment: 'effusion visible on the lateral' });
    expect(reviewed.status).toBe(200);
    expect(discrepancySchema.parse(reviewed.body).review).toMatchObject({ outcome: 'confirmed-miss', comment: 'effusion visible on the lateral', reviewer: { sub: 'radiologist-1', role: 'radiologist' } });
    expect(await openDiscrepancies('open')).toEqual([]);
    expect((await openDiscrepancies('reviewed')).map((d) => d.id)).toEqual([item!.id]);

    const again = await request(svc.app).post(`/api/discrepancies/${item!.id}/review`).set(radiologist).send({ outcome: 'ai-wrong' });
    expect(again.status).toBe(409);
    expect((await request(svc.app).post(`/api/discrepancies/${item!.id}/review`).set(radiologist).send({ outcome: 'maybe' })).status).toBe(400);
    expect((await request(svc.app).post(`/api/discrepancies/${'0'.repeat(32)}/review`).set(radiologist).send({ outcome: 'ai-wrong' })).status).toBe(404);
    expect((await request(svc.app).post(`/api/discrepancies/${item!.id}/review`).set(await bearer('viewer')).send({ outcome: 'ai-wrong' })).status).toBe(403);

    const audit = await request(svc.app).get(`/api/studies/${study.uid}/report/audit`).set(await bearer('admin'));
    const entries = auditTrailResponseSchema.parse(audit.body).entries;
    expect(entries.filter((e) => e.action === 'final-report')).toHaveLength(1);
    const review = entries.filter((e) => e.action === 'discrepancy-review');
    expect(review).toHaveLength(1);
    expect(review[0]!.detail).toMatch(/pleural_effusion.*confirmed-miss/);
    expect(metricValue(await metricsText(), 'cxr_second_read_reviews_total', 'finding="pleural_effusion",outcome="confirmed-miss"')).toBe(1);

    // Redis lost: reindex puts the reviewed discrepancy back from the bucket.
    await svc.redis.flushdb();
    const store = new SecondReadStore({ objects: svc.objects, redis: svc.redis, bucket: svc.config.buckets.reports, keyPrefix: svc.config.queuePrefix });
    const rebuilt = await reindexReports({ reports: svc.reports, secondRead: store, logger: createLogger('report', 'silent') });
    expect(rebuilt).toMatchObject({ indexed: 1, failed: 0, discrepancies: 1 });
    expect((await openDiscrepancies('reviewed')).map((d) => [d.id, d.review?.outcome])).toEqual([[item!.id, 'confirmed-miss']]);
  });

  test('a DICOM SR handed over by ingest on the final-reports queue is compared; one for a study not here yet is retried, not dropped', async () => {
    await start();
    const study = await phantomStudy();
    const connection = createWorkerConnection(svc.config.redisUrl);
    const secondRead = createSecondReadService({
      reports: new ReportStore({ objects: svc.objects, redis: connection, bucket: svc.config.buckets.reports, keyPrefix: svc.config.queuePrefix }),
      store: new SecondReadStore({ objects: svc.objects, redis: connection, bucket: svc.config.buckets.reports, keyPrefix: svc.config.queuePrefix }),
      metrics: svc.metrics.secondRead,
      signUrl: (path) => svc.auth.signUrl(path),
      publicUrl: svc.config.publicUrl,
      logger: createLogger('report', 'silent'),
    });
    // Ingest has stored the SRs as received in the originals bucket; the jobs name them.
    const originals = `originals-${randomKey().slice(0, 8)}`;
    await svc.objects.ensureBuckets([originals]);
    const storeSr = async (studyInstanceUid: string) => {
      const sopInstanceUid = generateUid();
      const objectKey = objectKeys.original(studyInstanceUid, generateUid(), sopInstanceUid, 'ab'.repeat(32));
      const sections = [{ heading: 'Findings', texts: ['No pleural effusion.'] }, { heading: 'Impression', texts: ['Normal chest.'] }];
      await svc.objects.put(originals, objectKey, writeTextSr({ studyInstanceUid, seriesInstanceUid: generateUid(), sopInstanceUid, sections }), 'application/dicom');
      return { source: 'dicom-sr' as const, studyInstanceUid, sopInstanceUid, objectKey };
    };
    const worker = startFinalReportsWorker({ config: svc.config, logger: createLogger('report', 'silent'), connection, secondRead, objects: svc.objects, originalsBucket: originals });
    const queue = new Queue(QUEUES.finalReports.name, { connection, prefix: svc.config.queuePrefix });
    try {
      await addJob(queue, QUEUES.finalReports, await storeSr(study.uid));
      const early = await storeSr('1.2.826.0.1.3680043.8.498.4243');
      await addJob(queue, QUEUES.finalReports, early);
      const items = await waitUntil(async () => {
        const found = await openDiscrepancies();
        return found.length > 0 ? found : undefined;
      });
      expect(items.map((d) => [d.source, d.code, d.kind])).toEqual([['dicom-sr', 'pleural_effusion', 'ai-positive-report-absent']]);
      const retried = await waitUntil(async () => {
        const job = await queue.getJob(`dicom-sr.${early.sopInstanceUid}`);
        return job && job.attemptsMade > 0 ? job : undefined;
      });
      expect(await retried.getState()).toBe('delayed');
    } finally {
      await worker.close();
      await queue.close();
      connection.disconnect();
      for (const key of await svc.objects.list(originals, '')) await svc.objects.remove(originals, key);
      await svc.objects.client.removeBucket(originals);
    }
  });

  test('a report signed in our own review flow is compared too, and stays as signed', async () => {
    await start();
    const study = await phantomStudy();
    const radiologist = await bearer('radiologist');
    const effusion = study.report.findings.find((f) => f.code === 'pleural_effusion')!;
    const edited = await request(svc.app)
      .put(`/api/studies/${study.uid}/report`)
      .set(radiologist)
      .set('If-Match', study.report.etag)
      .send({ sections: { findings: 'The lungs are clear. No pleural effusion.', impression: 'Normal chest.' }, decisions: [{ code: effusion.code, sopInstanceUid: effusion.sopInstanceUid, decision: 'rejected' }] });
    expect(edited.status).toBe(200);
    const signed = await request(svc.app).post(`/api/studies/${study.uid}/report/sign`).set(radiologist).set('If-Match', edited.body.etag).send({});
    expect(signed.status).toBe(200);

    const items = await openDiscrepancies();
    expect(items.map((d) => [d.source, d.code, d.kind, d.reportStatusAtArrival])).toEqual([['review-sign', 'pleural_effusion', 'ai-positive-report-absent', 'signed']]);
    const after = await request(svc.app).get(`/api/studies/${study.uid}/report`).set(await bearer('viewer'));
    expect(after.body).toMatchObject({ status: 'signed', etag: signed.body.etag, revision: signed.body.revision });
  });
});
