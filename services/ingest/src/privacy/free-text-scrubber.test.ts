import { describe, expect, test } from 'vitest';
import { REMOVED, scrubFreeText } from './free-text-scrubber.ts';

describe('scrubFreeText', () => {
  test.each([
    ['? pneumothorax after chest drain insertion', '? pneumothorax after chest drain insertion'],
    ['SOB, fever 3 days, ? consolidation', 'SOB, fever 3 days, ? consolidation'],
    ['Compare with CXR of 2026-11-02, effusion?', `Compare with CXR of ${REMOVED}, effusion?`],
    ['seen 02/11/2026 at 14:30', `seen ${REMOVED} at ${REMOVED}`],
    ['admitted 2 November 2026 with cough', `admitted ${REMOVED} with cough`],
    ['admitted Nov 2, 2026 with cough', `admitted ${REMOVED} with cough`],
    ['prior study 20261102', `prior study ${REMOVED}`],
    ['per Dr Smith, bleep 4321', `per ${REMOVED}, bleep 4321`],
    ['referred by Dr. J. Watson', `referred by ${REMOVED}`],
    ['call 0161 234 5678 with result', `call ${REMOVED} with result`],
    ['email j.doe@hospital.org', `email ${REMOVED}`],
    ['MRN 12345678 known COPD', `MRN ${REMOVED} known COPD`],
    ['see 1.2.840.113619.2.55.3 prior', `see ${REMOVED} prior`],
  ])('scrubs %j to %j', (text, expected) => {
    expect(scrubFreeText(text)).toBe(expected);
  });

  test("removes the patient's own name parts, ID and accession number wherever they appear", () => {
    const text = 'DOE JOHN Q (PID SYN000042, ACC ACC0000042) - ? effusion, John feels unwell';
    const scrubbed = scrubFreeText(text, { patientName: 'Doe^John^Q', patientId: 'SYN000042', accessionNumber: 'ACC0000042' });
    expect(scrubbed).not.toMatch(/doe|john|SYN000042|ACC0000042/i);
    expect(scrubbed).toContain('? effusion');
  });

  test('keeps short clinical abbreviations and lateralities', () => {
    expect(scrubFreeText('L > R effusion, ?PE, post-op day 2, T2DM')).toBe('L > R effusion, ?PE, post-op day 2, T2DM');
  });
});
