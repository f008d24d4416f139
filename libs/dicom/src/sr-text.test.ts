import { describe, expect, test } from 'vitest';
import { parseInstance } from './parse.ts';
import { isTextSr, readSrReportText } from './sr-text.ts';
import { writeTextSr } from './text-sr-writer.ts';
import { SopClass } from './uids.ts';

const ids = { studyInstanceUid: '1.2.826.0.1.3680043.8.498.1', seriesInstanceUid: '1.2.826.0.1.3680043.8.498.2', sopInstanceUid: '1.2.826.0.1.3680043.8.498.3' };

describe('reading the report text of a text SR', () => {
  test('keeps each container as a section under its Code Meaning, its TEXT items in order', () => {
    const bytes = writeTextSr({ ...ids, sections: [{ heading: 'Findings', texts: ['Large right pleural effusion.', 'No pneumothorax.'] }, { heading: 'Impression', texts: ['Right pleural effusion.'] }] });
    const sr = readSrReportText(parseInstance(bytes));
    expect(sr).toEqual({
      text: 'FINDINGS:\nLarge right pleural effusion.\nNo pneumothorax.\n\nIMPRESSION:\nRight pleural effusion.',
      completion: 'COMPLETE',
      verification: 'VERIFIED',
      title: 'Chest X-ray Report',
      truncated: false,
    });
  });

  test('reports the verification flag of an unsigned report', () => {
    const bytes = writeTextSr({ ...ids, verification: 'UNVERIFIED', sections: [{ heading: 'Impression', texts: ['Normal.'] }] });
    expect(readSrReportText(parseInstance(bytes)).verification).toBe('UNVERIFIED');
  });

  test('an SR with no TEXT items gives empty text', () => {
    expect(readSrReportText(parseInstance(writeTextSr({ ...ids, sections: [] }))).text).toBe('');
  });

  test.each([
    [SopClass.BasicTextSR, true],
    [SopClass.EnhancedSR, true],
    [SopClass.ComprehensiveSR, false],
    [SopClass.DigitalXRayImageStorageForPresentation, false],
  ])('recognises %s as a text SR: %s', (uid, expected) => {
    expect(isTextSr(uid)).toBe(expected);
  });
});
