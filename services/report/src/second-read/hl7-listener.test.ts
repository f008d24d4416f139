import { describe, expect, test } from 'vitest';
import type { FinalReportResult, FinalReportSubmission } from '@cxr/contracts';
import { createLogger, HttpError, PermanentError, TransientError } from '@cxr/platform';
import { createReportMetrics } from '../metrics.ts';
import { parseHl7Message } from './hl7-message.ts';
import { createHl7Handler } from './hl7-listener.ts';
import type { SecondReadService } from './second-read-service.ts';

// The listener's mapping from what happened to the ACK code, with the second read replaced by a
// function that answers or throws as told (the service itself is tested against real Redis/S3).

const MESSAGE = [
  'MSH|^~\\&|RIS|HOSP|CXR|AI|20261204101500||ORU^R01|CTRL-9|P|2.5.1',
  'OBR|1||ACC1|71046||||||||||||||||||||||F',
  'OBX|1|TX|IMP^IMPRESSION||No pleural effusion.',
  'ZDS|1.2.826.0.1.3680043.8.498.7^CXR',
].join('\r');

function handlerThat(takeIn: (s: FinalReportSubmission) => Promise<FinalReportResult>) {
  const service: SecondReadService = { takeIn, list: () => Promise.reject(new Error('unused')), review: () => Promise.reject(new Error('unused')) };
  const metrics = createReportMetrics(() => Promise.reject(new Error('unused'))).secondRead;
  return createHl7Handler({ service, logger: createLogger('test', 'silent'), metrics, options: { application: 'CXR-REPORT', facility: '' }, now: () => new Date('2026-12-04T10:00:00Z') });
}

async function ackOf(handler: ReturnType<typeof handlerThat>, message = MESSAGE) {
  const ack = parseHl7Message(await handler.onMessage(Buffer.from(message, 'utf8')));
  const msa = ack.segments.find((s) => s.name === 'MSA')!.fields;
  return { code: msa[1], controlId: msa[2], text: msa[3] };
}

describe('the HL7 listener answers', () => {
  test('AA with the discrepancy count when the report is compared, passing the study and text on', async () => {
    let seen: FinalReportSubmission | undefined;
    const handler = handlerThat(async (s) => {
      seen = s;
      return { studyInstanceUid: s.studyInstanceUid!, finalReportId: 'c'.repeat(32), duplicate: false, findings: [], discrepancies: [] };
    });
    expect(await ackOf(handler)).toEqual({ code: 'AA', controlId: 'CTRL-9', text: 'compared: 0 discrepancies' });
    expect(seen).toMatchObject({ source: 'hl7-oru', studyInstanceUid: '1.2.826.0.1.3680043.8.498.7', accessionNumber: 'ACC1', text: 'IMPRESSION:\nNo pleural effusion.' });
  });

  test.each([
    ['an unknown study (404)', new HttpError(404, 'study-not-found', 'no report is known for this study'), 'AE'],
    ['no AI findings (422)', new HttpError(422, 'no-ai-findings', 'no AI findings'), 'AE'],
    ['an analysis still running (503)', new HttpError(503, 'analysis-pending', 'send the report again later'), 'AR'],
    ['storage or Redis down', new TransientError('connection refused'), 'AR'],
    ['an unclassified error', new Error('boom'), 'AR'],
    ['a permanent error', new PermanentError('corrupt state'), 'AE'],
  ])('%s with %s', async (_name, error, code) => {
    expect((await ackOf(handlerThat(() => Promise.reject(error)))).code).toBe(code);
  });

  test('AR with no control ID to bytes that are not HL7, and to a message too large', async () => {
    const handler = handlerThat(() => Promise.reject(new Error('not called')));
    expect(await ackOf(handler, '\x00\x01binary')).toMatchObject({ code: 'AR', controlId: '' });
    const tooLarge = parseHl7Message(handler.onTooLarge(1024));
    expect(tooLarge.segments[1]!.fields.slice(0, 4)).toEqual(['MSA', 'AR', '', 'message exceeds 1024 bytes']);
  });

  test('reads a Latin-1 message (HL7 v2 default character set) without mangling the text', async () => {
    let seen: FinalReportSubmission | undefined;
    const handler = handlerThat(async (s) => {
      seen = s;
      return { studyInstanceUid: s.studyInstanceUid!, finalReportId: 'c'.repeat(32), duplicate: false, findings: [], discrepancies: [] };
    });
    await handler.onMessage(Buffer.from(MESSAGE.replace('No pleural effusion.', 'Kein Pleuraerguß.'), 'latin1'));
    expect(seen?.text).toBe('IMPRESSION:\nKein Pleuraerguß.');
  });
});
