import { describe, expect, test } from 'vitest';
import { errorFromResponse, ReportApiClient, StaleReportError } from './api-client.ts';
import { fixtureReport } from './testing/fixture-report.test-support.ts';

const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json', ...headers } });

describe('the report API client', () => {
  test('a 412 becomes the "someone else changed this report: reload" error', async () => {
    const error = await errorFromResponse(json(412, { error: { code: 'precondition-failed', message: 'etag mismatch' } }));
    expect(error).toBeInstanceOf(StaleReportError);
    expect(error.message).toMatch(/someone else changed this report: reload/i);
  });

  test.each([
    [401, /token is missing, invalid or expired/],
    [403, /radiologist role/],
  ])('a %i says what to do about it', async (status, pattern) => {
    expect((await errorFromResponse(json(status, { error: { code: 'x', message: 'nope' } }))).message).toMatch(pattern);
  });

  test("a 422 carries the server's reason", async () => {
    const error = await errorFromResponse(json(422, { error: { code: 'undecided-findings', message: 'nodule has no decision' } }));
    expect(error.status).toBe(422);
    expect(error.code).toBe('undecided-findings');
    expect(error.message).toBe('Nodule has no decision (HTTP 422).');
  });

  test('a non-JSON error page still gives a readable message', async () => {
    const error = await errorFromResponse(new Response('<html>bad gateway</html>', { status: 502 }));
    expect(error.message).toBe('The report service answered HTTP 502.');
  });

  test('sends the bearer token and If-Match, and takes the ETag header of the answer', async () => {
    const seen: Array<{ url: string; init: RequestInit | undefined }> = [];
    const client = new ReportApiClient({
      baseUrl: 'http://report.test/',
      getToken: async () => 'tok',
      fetch: async (url, init) => {
        seen.push({ url: String(url), init });
        return json(200, fixtureReport({ revision: 2 }), { ETag: '"r2-header"' });
      },
    });
    const report = await client.saveReport('1.2.3', '"r1"', { sections: { findings: 'f', impression: 'i' }, decisions: [] });
    expect(report.etag).toBe('"r2-header"');
    expect(seen[0]?.url).toBe('http://report.test/api/studies/1.2.3/report');
    expect(seen[0]?.init?.method).toBe('PUT');
    expect(seen[0]?.init?.headers).toMatchObject({ Authorization: 'Bearer tok', 'If-Match': '"r1"', 'Content-Type': 'application/json' });
    expect(await client.eventsUrl()).toBe('http://report.test/api/events?access_token=tok');
  });

  test('a network failure says the service cannot be reached', async () => {
    const client = new ReportApiClient({ baseUrl: '', getToken: () => null, fetch: async () => { throw new TypeError('fetch failed'); } });
    await expect(client.getReport('1.2.3')).rejects.toThrow(/Cannot reach the report service/);
  });
});
