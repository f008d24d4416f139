import { describe, expect, test } from 'vitest';
import { HttpError } from '@cxr/platform';
import type { PacsDelivery, PacsExportJob } from '@cxr/contracts';
import { assertSendable, exportStateOf, exportStatusOf, progressOf, type ExportJobView } from './pacs-export-queue.ts';
import { draftReportFixture, signedReportFixture } from './report-fixtures.test-support.ts';

const UID = '1.2.826.0.1.3680043.8.498.101';
const JOB: PacsExportJob = {
  studyKey: 'a'.repeat(32),
  studyInstanceUid: UID,
  revision: 3,
  allowDraft: false,
  requestedBy: { sub: 'rad-1', name: 'Dr. Ada Reader', role: 'radiologist' },
  requestedAt: '2026-01-02T03:04:05.000Z',
};

function job(overrides: Partial<ExportJobView> = {}): ExportJobView {
  return { id: 'pacs-export.x.r3', data: JOB, progress: 0, returnvalue: undefined, failedReason: '', finishedOn: undefined, ...overrides };
}

describe('exportStateOf', () => {
  test.each([
    ['waiting', 0, 'queued'],
    ['prioritized', 0, 'queued'],
    ['active', 1, 'sending'],
    ['delayed', 0, 'queued'],
    ['delayed', 2, 'retrying'],
    ['completed', 1, 'delivered'],
    ['failed', 4, 'failed'],
  ] as const)('calls a %s job with %i attempts %s', (state, attempts, expected) => {
    expect(exportStateOf(state, { attempts, lastError: null, nextAttemptAt: null })).toBe(expected);
  });
});

describe('progressOf', () => {
  test('reads the progress the worker writes and treats anything else as no attempt yet', () => {
    expect(progressOf({ progress: { attempts: 2, lastError: 'could not reach the PACS (ECONNREFUSED)', nextAttemptAt: '2026-01-02T03:05:00.000Z' } })).toEqual({
      attempts: 2,
      lastError: 'could not reach the PACS (ECONNREFUSED)',
      nextAttemptAt: '2026-01-02T03:05:00.000Z',
    });
    expect(progressOf({ progress: 0 })).toEqual({ attempts: 0, lastError: null, nextAttemptAt: null });
  });
});

describe('exportStatusOf', () => {
  test('says when a held export runs next and why the last attempt failed', () => {
    const status = exportStatusOf(UID, job({ progress: { attempts: 2, lastError: 'the PACS answered 503', nextAttemptAt: '2026-01-02T03:05:00.000Z' } }), 'delayed');
    expect(status).toMatchObject({ state: 'retrying', attempts: 2, nextAttemptAt: '2026-01-02T03:05:00.000Z', lastError: 'the PACS answered 503', delivery: null, failureReason: null });
    expect(status.requestedBy.sub).toBe('rad-1');
  });

  test('gives a delivered export the PACS answer and when it arrived', () => {
    const delivery: PacsDelivery = { revision: 4, signed: true, httpStatus: 200, stored: 2, overlays: 1, warnings: [] };
    const status = exportStatusOf(UID, job({ progress: { attempts: 1, lastError: null, nextAttemptAt: null }, returnvalue: delivery, finishedOn: Date.parse('2026-01-02T03:06:00Z') }), 'completed');
    expect(status).toMatchObject({ state: 'delivered', deliveredAt: '2026-01-02T03:06:00.000Z', delivery, requestedRevision: 3, nextAttemptAt: null, failedAt: null });
  });

  test('gives a failed export its reason', () => {
    const status = exportStatusOf(UID, job({ failedReason: 'the PACS answered 403', finishedOn: Date.parse('2026-01-02T03:06:00Z') }), 'failed');
    expect(status).toMatchObject({ state: 'failed', failureReason: 'the PACS answered 403', failedAt: '2026-01-02T03:06:00.000Z', delivery: null });
  });
});

describe('assertSendable', () => {
  test('sends signed reports, and drafts only when allowed', () => {
    expect(() => assertSendable(signedReportFixture(), false)).not.toThrow();
    expect(() => assertSendable(draftReportFixture(), true)).not.toThrow();
    expect(() => assertSendable(draftReportFixture(), false)).toThrow(expect.objectContaining({ status: 409, code: 'report-not-signed' }));
  });

  test.each(['pending', 'failed', 'not-eligible'] as const)('has nothing to send while the report is %s', (status) => {
    const report = draftReportFixture({ status });
    let caught: unknown;
    try {
      assertSendable(report, true);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(HttpError);
    expect(caught).toMatchObject({ status: 409, code: 'nothing-to-export' });
  });
});
