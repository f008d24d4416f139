import { describe, expect, test } from 'vitest';
import { HttpError } from '@cxr/platform';
import { parseDuration, parseReportWindow } from './report-window.ts';

const now = new Date('2026-03-01T12:00:00.000Z');
const DAY = 86_400_000;

describe('parseReportWindow', () => {
  test('reads ?window= as a duration up to now', () => {
    expect(parseReportWindow({ window: '7d' }, now, DAY)).toEqual({ since: new Date(now.getTime() - 7 * DAY), until: now });
    expect(parseDuration('90m')).toBe(90 * 60_000);
  });

  test('reads ?since=&until= and defaults since to the default window before until', () => {
    expect(parseReportWindow({ since: '2026-02-01', until: '2026-02-08T00:00:00Z' }, now, DAY)).toEqual({ since: new Date('2026-02-01T00:00:00Z'), until: new Date('2026-02-08T00:00:00Z') });
    expect(parseReportWindow({ until: '2026-02-08T00:00:00Z' }, now, DAY).since).toEqual(new Date('2026-02-07T00:00:00Z'));
    expect(parseReportWindow({}, now, DAY)).toEqual({ since: new Date(now.getTime() - DAY), until: now });
  });

  test.each([
    [{ window: '7 days' }, 'invalid-window'],
    [{ window: '0d' }, 'invalid-window'],
    [{ window: '93d' }, 'invalid-window'],
    [{ window: '7d', since: '2026-01-01' }, 'invalid-window'],
    [{ since: 'yesterday' }, 'invalid-since'],
    [{ since: '2026-02-08', until: '2026-02-01' }, 'invalid-window'],
    [{ until: ['2026-02-08', '2026-02-09'] }, 'invalid-until'],
  ])('refuses %j with a 400', (params, code) => {
    try {
      parseReportWindow(params, now, DAY);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(HttpError);
      expect(error).toMatchObject({ status: 400, code });
    }
  });
});
