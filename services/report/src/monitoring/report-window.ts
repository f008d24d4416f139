import { HttpError } from '@cxr/platform';
import { HOUR_MS, MAX_WINDOW_MS } from './performance-store.ts';

/** A duration written `7d`, `24h` or `90m`, in ms; null when it is not one. */
export function parseDuration(text: string): number | null {
  const match = /^([1-9][0-9]{0,4})([mhd])$/.exec(text.trim());
  if (!match) return null;
  const unit = { m: 60_000, h: HOUR_MS, d: 24 * HOUR_MS }[match[2] as 'm' | 'h' | 'd'];
  return Number(match[1]) * unit;
}

const ISO = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * The report window from `?window=7d` (up to now), or `?since=&until=` (ISO dates or date-times;
 * `until` defaults to now, `since` to `until` minus `defaultMs`). 400 for anything else.
 */
export function parseReportWindow(params: Record<string, unknown>, now: Date, defaultMs: number): { since: Date; until: Date } {
  const single = (name: string): string | undefined => {
    const value = params[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string' || value.length > 40) throw new HttpError(400, `invalid-${name}`, `${name} may be given once, as text`);
    return value;
  };
  const date = (name: string, text: string): Date => {
    const parsed = ISO.test(text) ? new Date(text) : new Date(NaN);
    if (Number.isNaN(parsed.getTime())) throw new HttpError(400, `invalid-${name}`, `${name} must be an ISO 8601 date or date-time`);
    return parsed;
  };
  const windowText = single('window');
  const sinceText = single('since');
  const untilText = single('until');
  if (windowText !== undefined && (sinceText !== undefined || untilText !== undefined)) {
    throw new HttpError(400, 'invalid-window', 'give window, or since/until, not both');
  }
  let since: Date;
  let until: Date;
  if (windowText !== undefined) {
    const ms = parseDuration(windowText);
    if (ms === null) throw new HttpError(400, 'invalid-window', 'window must be a duration such as 7d, 24h or 90m');
    until = now;
    since = new Date(now.getTime() - ms);
  } else {
    until = untilText !== undefined ? date('until', untilText) : now;
    since = sinceText !== undefined ? date('since', sinceText) : new Date(until.getTime() - defaultMs);
  }
  const length = until.getTime() - since.getTime();
  if (length <= 0) throw new HttpError(400, 'invalid-window', 'since must be before until');
  if (length > MAX_WINDOW_MS) throw new HttpError(400, 'invalid-window', `the window may be at most ${MAX_WINDOW_MS / (24 * HOUR_MS)} days`);
  return { since, until };
}
