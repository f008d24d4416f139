import { describe, expect, test } from 'vitest';
import {
  classifyStowResponse,
  parseStowResponseBody,
  retryAfterMs,
  StowRejectedError,
  StowTag,
  StowUnavailableError,
  type StowResponse,
} from './stow-client.ts';

const SR_CLASS = '1.2.840.10008.5.1.4.1.1.88.33';
const SC_CLASS = '1.2.840.10008.5.1.4.1.1.7';

/** A referenced or failed SOP item as DICOM JSON (PS3.18 F.2). */
function sopItem(sopClassUid: string, sopInstanceUid: string, extra: Record<string, unknown> = {}) {
  return {
    [StowTag.ReferencedSOPClassUID]: { vr: 'UI', Value: [sopClassUid] },
    [StowTag.ReferencedSOPInstanceUID]: { vr: 'UI', Value: [sopInstanceUid] },
    ...extra,
  };
}

function response(httpStatus: number, stored: number, failedReasons: Array<number | null> = []): StowResponse {
  return {
    httpStatus,
    stored: Array.from({ length: stored }, (_, i) => ({ sopClassUid: SC_CLASS, sopInstanceUid: `2.25.${i + 1}` })),
    failed: failedReasons.map((reason, i) => ({ sopClassUid: SC_CLASS, sopInstanceUid: `2.25.${100 + i}`, reason })),
    warnings: [],
    parsed: true,
  };
}

describe('parseStowResponseBody', () => {
  test('reads the stored and the failed instances with their failure reasons', () => {
    const body = JSON.stringify({
      [StowTag.RetrieveURL]: { vr: 'UR', Value: ['http://pacs/dicom-web/studies/1.2.3'] },
      [StowTag.ReferencedSOPSequence]: {
        vr: 'SQ',
        Value: [sopItem(SR_CLASS, '2.25.1'), sopItem(SC_CLASS, '2.25.2', { [StowTag.WarningReason]: { vr: 'US', Value: [0xb000] } })],
      },
      [StowTag.FailedSOPSequence]: { vr: 'SQ', Value: [sopItem(SC_CLASS, '2.25.3', { [StowTag.FailureReason]: { vr: 'US', Value: [0xc122] } })] },
    });
    const parsed = parseStowResponseBody(202, body);
    expect(parsed).toEqual({
      httpStatus: 202,
      stored: [
        { sopClassUid: SR_CLASS, sopInstanceUid: '2.25.1' },
        { sopClassUid: SC_CLASS, sopInstanceUid: '2.25.2' },
      ],
      failed: [{ sopClassUid: SC_CLASS, sopInstanceUid: '2.25.3', reason: 0xc122 }],
      warnings: ['0xB000 coercion of data elements'],
      parsed: true,
    });
  });

  test('accepts the data set wrapped in an array, as some servers send it', () => {
    const body = JSON.stringify([{ [StowTag.ReferencedSOPSequence]: { vr: 'SQ', Value: [sopItem(SR_CLASS, '2.25.9')] } }]);
    expect(parseStowResponseBody(200, body).stored).toEqual([{ sopClassUid: SR_CLASS, sopInstanceUid: '2.25.9' }]);
  });

  test.each([[''], ['<NativeDicomModel/>'], ['null']])('says it could not read a body that is not DICOM JSON (%j)', (body) => {
    expect(parseStowResponseBody(200, body)).toEqual({ httpStatus: 200, stored: [], failed: [], warnings: [], parsed: false });
  });
});

describe('classifyStowResponse', () => {
  test('passes a 200 that lists every instance as stored', () => {
    const ok = response(200, 3);
    expect(classifyStowResponse(ok, 3)).toBe(ok);
  });

  test('passes a 200 without a DICOM JSON body (nothing says anything failed)', () => {
    const bare: StowResponse = { httpStatus: 200, stored: [], failed: [], warnings: [], parsed: false };
    expect(classifyStowResponse(bare, 2)).toBe(bare);
  });

  test.each([500, 502, 503, 504, 408, 425, 429])('holds a %i for a retry', (status) => {
    expect(() => classifyStowResponse(response(status, 0), 2)).toThrow(StowUnavailableError);
  });

  test.each([400, 401, 403, 404, 413, 415])('refuses for good on a %i', (status) => {
    expect(() => classifyStowResponse(response(status, 0), 2)).toThrow(StowRejectedError);
  });

  test('refuses for good on a redirect, naming the setting to fix', () => {
    expect(() => classifyStowResponse(response(301, 0), 1)).toThrow(/REPORT_PACS_STOW_URL/);
  });

  test('refuses for good when the PACS failed some instances, with the reason in words and no UIDs', () => {
    let caught: unknown;
    try {
      classifyStowResponse(response(202, 2, [0xc122]), 3);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(StowRejectedError);
    expect((caught as Error).message).toBe('the PACS refused 1 of 3 instances (0xC122 transfer syntax not supported)');
    expect((caught as Error).message).not.toMatch(/2\.25\./);
  });

  test('refuses for good on a 409 whose instances all failed', () => {
    expect(() => classifyStowResponse(response(409, 0, [0x0110, null]), 2)).toThrow(/refused 2 of 2 instances \(0x0110 processing failure, no reason given\)/);
  });

  test('holds for a retry when every failure is "out of resources"', () => {
    expect(() => classifyStowResponse(response(409, 0, [0xa700, 0xa701]), 2)).toThrow(StowUnavailableError);
  });

  test('refuses a success that lists fewer instances than were sent', () => {
    expect(() => classifyStowResponse(response(200, 1), 2)).toThrow(/listed 1 of 2 instances as stored/);
  });

  test('carries the Retry-After of a busy PACS', () => {
    let caught: unknown;
    try {
      classifyStowResponse(response(503, 0), 1, 30_000);
    } catch (error) {
      caught = error;
    }
    expect((caught as StowUnavailableError).retryAfterMs).toBe(30_000);
  });
});

describe('retryAfterMs', () => {
  test('reads seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2026-01-02T03:04:05Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Fri, 02 Jan 2026 03:05:05 GMT', now)).toBe(60_000);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });
});
