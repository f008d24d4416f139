import { describe, expect, test } from 'vitest';
import { decodeWorklistCursor, encodeWorklistCursor, worklistMember } from './report-index.ts';

describe('worklist order', () => {
  test('members sort urgent findings first, then stat, urgent, routine, then oldest first', () => {
    const members = [
      worklistMember(false, 'routine', '2026-01-01T00:00:00.000Z', '1.2.1'),
      worklistMember(false, 'stat', '2026-01-03T00:00:00.000Z', '1.2.2'),
      worklistMember(true, 'routine', '2026-01-04T00:00:00.000Z', '1.2.3'),
      worklistMember(false, 'stat', '2026-01-02T00:00:00.000Z', '1.2.4'),
      worklistMember(false, 'urgent', '2025-12-01T00:00:00.000Z', '1.2.5'),
      worklistMember(true, 'stat', '2026-01-05T00:00:00.000Z', '1.2.6'),
    ];
    const uids = [...members].sort().map((m) => m.split('|')[2]);
    expect(uids).toEqual(['1.2.6', '1.2.3', '1.2.4', '1.2.2', '1.2.5', '1.2.1']);
  });

  test('a cursor decodes to the member it was made from', () => {
    const member = worklistMember(true, 'urgent', '2026-01-04T00:00:00.000Z', '1.2.840.1');
    expect(decodeWorklistCursor(encodeWorklistCursor(member))).toBe(member);
  });

  test.each(['', 'not base64!', Buffer.from('9|000|1.2').toString('base64url'), Buffer.from('0|001767484800000|1.02').toString('base64url')])(
    'refuses a cursor it did not make: %j',
    (cursor) => {
      expect(decodeWorklistCursor(cursor)).toBeNull();
    },
  );
});
