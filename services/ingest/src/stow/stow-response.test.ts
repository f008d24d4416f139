import { describe, expect, test } from 'vitest';
import { FailureReason, stowResponse, stowStatus } from './stow-response.ts';

describe('STOW-RS response', () => {
  test.each([
    [2, 0, 0, 200],
    [1, 1, 0, 202],
    [0, 2, 0, 409],
    [1, 0, 1, 202],
  ])('%i stored, %i failed, %i warnings → HTTP %i', (stored, failed, warnings, status) => {
    expect(stowStatus(stored, failed, warnings)).toBe(status);
  });

  test('lists stored instances in the Referenced SOP Sequence and failures with their reason', () => {
    const body = stowResponse(
      [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.1.1', sopInstanceUid: '1.2.3', retrieveUrl: 'http://x/1.2.3' }],
      [{ sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid: '1.2.4', failureReason: FailureReason.cannotUnderstand }],
      'http://x/studies/1.2',
    );
    expect(body['00081199']).toEqual({
      vr: 'SQ',
      Value: [{ '00081150': { vr: 'UI', Value: ['1.2.840.10008.5.1.4.1.1.1.1'] }, '00081155': { vr: 'UI', Value: ['1.2.3'] }, '00081190': { vr: 'UR', Value: ['http://x/1.2.3'] } }],
    });
    expect(body['00081198']!.Value![0]).toMatchObject({ '00081197': { vr: 'US', Value: [0xc000] } });
    expect(body['00081190']).toEqual({ vr: 'UR', Value: ['http://x/studies/1.2'] });
  });
});
