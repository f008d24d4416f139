/**
 * Peak RSS of the ingest service under senders that never finish: N DIMSE associations each
 * streaming a data set that never ends, and N chunked STOW-RS bodies that never end, all at once,
 * against the receive memory budget. Prints the baseline RSS, the peak, the budget and the
 * documented bound (baseline + 2 × budget), and what the senders were answered.
 *
 *   npx tsx services/ingest/bench/receive-memory-bench.ts [--budget-mib 256] [--senders 5] [--seconds 20]
 *
 * Real parts: redis-server and s3rver from @cxr/devstack; the ingest service in this process
 * (the attackers too: they write from one reused buffer, with backpressure, so they add little).
 */
import http from 'node:http';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { freePort, startRedisServer, startS3Server } from '@cxr/devstack';
import { encodeAssociateRq, encodePData, syntheticDataSet, CT_IMAGE_STORAGE, EXPLICIT_VR_LE } from '../../../libs/dimse/src/dcmtk.test-support.ts';
import { encodeRequest } from '../../../libs/dimse/src/dimse-messages.ts';
import { loadConfig } from '../src/config.ts';
import { createIngestService } from '../src/service.ts';

const { values: args } = parseArgs({ options: { 'budget-mib': { type: 'string', default: '256' }, senders: { type: 'string', default: '5' }, seconds: { type: 'string', default: '20' } } });
const budgetBytes = Number(args['budget-mib']) * 1024 * 1024;
const senders = Number(args.senders);
const seconds = Number(args.seconds);
const MIB = 1024 * 1024;

const dir = mkdtempSync(join(tmpdir(), 'receive-memory-'));
const buckets = { BUCKET_ORIGINALS: 'rm-orig', BUCKET_DERIVED: 'rm-derived', BUCKET_REPORTS: 'rm-reports' };
const redis = await startRedisServer({ port: await freePort(), dir: join(dir, 'redis') });
const s3 = await startS3Server({ port: await freePort(), dir: join(dir, 's3'), buckets: Object.values(buckets), reset: true });
const config = loadConfig({
  REDIS_URL: redis.url, S3_ENDPOINT: s3.endpoint, QUEUE_PREFIX: 'receive-memory', ...buckets,
  INGEST_DIMSE_PORT: String(await freePort()), INGEST_HTTP_PORT: String(await freePort()),
  INGEST_RECEIVE_MEMORY_BYTES: String(budgetBytes), INGEST_MAX_INSTANCE_BYTES: String(budgetBytes),
  INGEST_STOW_MAX_CONCURRENT: String(senders),
});
const service = createIngestService(config, pino({ level: process.env.BENCH_LOG_LEVEL ?? 'silent' }));
const address = await service.start();

let peak = 0;
const sample = (): number => {
  const rss = process.memoryUsage().rss;
  if (rss > peak) peak = rss;
  return rss;
};
global.gc?.();
await new Promise((r) => setTimeout(r, 1000));
const baseline = sample();
peak = baseline;
const sampler = setInterval(sample, 50);

const zeros = Buffer.alloc(128 * 1024 - 12);
const answers: string[] = [];
const sockets: net.Socket[] = [];

function dimseSender(i: number): void {
  const socket = net.connect({ host: '127.0.0.1', port: address.dimse.port });
  sockets.push(socket);
  socket.on('error', () => undefined);
  let associated = false;
  socket.on('data', (d: Buffer) => {
    if (!associated && d[0] === 0x02) {
      associated = true;
      const uid = `1.2.826.0.1.3680043.10.3.${i}`;
      socket.write(encodePData(1, encodeRequest({ commandField: 0x0001, messageId: 1, affectedSopClassUid: CT_IMAGE_STORAGE, affectedSopInstanceUid: uid, hasDataSet: true }), true, true));
      // A valid head, then an OB element announcing ~4 GiB that keeps coming.
      const head = Buffer.concat([syntheticDataSet(uid), Buffer.from([0xe1, 0x7f, 0x10, 0x00]), Buffer.from('OB'), Buffer.alloc(2), Buffer.from([0xf0, 0xff, 0xff, 0xff])]);
      socket.write(encodePData(1, head, false, false));
      const pdu = encodePData(1, zeros, false, false);
      const pump = (): void => {
        while (!socket.destroyed && socket.write(pdu));
      };
      socket.on('drain', pump);
      pump();
    } else if (associated) {
      answers.push(`dimse ${i}: PDU type ${d[0]}`);
    }
  });
  socket.on('close', () => answers.push(`dimse ${i}: closed`));
  socket.write(encodeAssociateRq({ calledAeTitle: 'INGEST', callingAeTitle: `ATTACK${i}`, contexts: [{ id: 1, abstractSyntaxUid: CT_IMAGE_STORAGE, transferSyntaxUids: [EXPLICIT_VR_LE] }], maxPduLength: 131072 }));
}

function stowSender(i: number): void {
  const req = http.request({ host: '127.0.0.1', port: address.http.port, method: 'POST', path: '/dicomweb/studies', headers: { 'Content-Type': 'multipart/related; type="application/dicom"; boundary=b', 'Transfer-Encoding': 'chunked' } });
  req.on('error', () => undefined);
  req.on('response', (res) => {
    answers.push(`stow ${i}: ${res.statusCode} retry-after=${res.headers['retry-after'] ?? '-'}`);
    res.resume();
  });
  const pump = (): void => {
    while (!req.destroyed && req.write(zeros));
  };
  req.on('drain', pump);
  pump();
}

for (let i = 0; i < senders; i += 1) {
  dimseSender(i);
  stowSender(i);
}
await new Promise((r) => setTimeout(r, seconds * 1000));
clearInterval(sampler);
for (const s of sockets) s.destroy();
console.log(JSON.stringify({
  senders: { dimse: senders, stow: senders },
  seconds,
  budgetMiB: budgetBytes / MIB,
  baselineRssMiB: Math.round(baseline / MIB),
  peakRssMiB: Math.round(peak / MIB),
  boundMiB: Math.round((baseline + 2 * budgetBytes) / MIB),
  withinBound: peak <= baseline + 2 * budgetBytes,
  answers: [...new Set(answers)].sort(),
}, null, 2));
await service.stop();
await redis.stop();
await s3.stop();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
