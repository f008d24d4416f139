import { describe, expect, test } from 'vitest';
import { ConfigError } from '@cxr/platform';
import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  test('has defaults that make a local run work', () => {
    const config = loadConfig({});
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8090 });
    expect(config.publicUrl).toBe('http://127.0.0.1:8090');
    expect(config.eventsConcurrency).toBe(4);
    expect(config.queuePrefix).toBe('cxr');
    expect(config.buckets.reports).toBe('cxr-reports');
  });

  test('reads the report settings and drops a trailing slash from the public URL', () => {
    const config = loadConfig({
      REPORT_HTTP_HOST: '0.0.0.0',
      REPORT_HTTP_PORT: '9001',
      REPORT_PUBLIC_URL: 'https://reports.example.org/cxr/',
      REPORT_EVENTS_CONCURRENCY: '8',
    });
    expect(config).toMatchObject({ http: { host: '0.0.0.0', port: 9001 }, publicUrl: 'https://reports.example.org/cxr', eventsConcurrency: 8 });
  });

  test.each([
    ['REPORT_HTTP_PORT', 'eighty'],
    ['REPORT_PUBLIC_URL', 'not a url'],
    ['REPORT_EVENTS_CONCURRENCY', '0'],
  ])('names %s when it is malformed', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: malformed setting`));
  });

  test('accepts development tokens by default and needs issuer and JWKS for OIDC', () => {
    expect(loadConfig({}).auth).toMatchObject({ mode: 'dev', audience: 'cxr', rolesClaim: 'roles' });
    expect(loadConfig({}).urlTtlSeconds).toBe(300);
    expect(() => loadConfig({ AUTH_MODE: 'oidc' })).toThrow(/AUTH_ISSUER and AUTH_JWKS_URL/);
    expect(loadConfig({ AUTH_MODE: 'oidc', AUTH_ISSUER: 'https://idp.example.org', AUTH_JWKS_URL: 'https://idp.example.org/certs' }).auth).toMatchObject({
      mode: 'oidc',
      jwksUrl: 'https://idp.example.org/certs',
    });
  });

  test('reads the urgent finding codes, pneumothorax by default', () => {
    expect(loadConfig({}).urgentFindings).toEqual(['pneumothorax']);
    expect(loadConfig({ REPORT_URGENT_FINDINGS: 'pneumothorax, pleural_effusion,pneumothorax' }).urgentFindings).toEqual(['pneumothorax', 'pleural_effusion']);
    expect(() => loadConfig({ REPORT_URGENT_FINDINGS: 'pneumo thorax' })).toThrow(/REPORT_URGENT_FINDINGS: malformed setting/);
  });

  test('refuses a URL signing secret too short to be safe', () => {
    expect(() => loadConfig({ REPORT_URL_SIGNING_SECRET: 'short' })).toThrow(/REPORT_URL_SIGNING_SECRET: malformed setting/);
  });
});

describe('loadConfig: sending to the PACS', () => {
  test('is off by default and holds exports for 72 hours', () => {
    expect(loadConfig({}).pacs).toEqual({ stowUrl: undefined, authorization: undefined, sendOnSign: false, maxHoldHours: 72, objects: ['report-sr', 'overlays'] });
  });

  test('reads the DICOMweb base without a trailing slash, the credential, send-on-sign and the hold time', () => {
    const config = loadConfig({
      REPORT_PACS_STOW_URL: 'http://orthanc:8042/dicom-web/',
      REPORT_PACS_AUTHORIZATION: ' Bearer abc.def ',
      REPORT_PACS_SEND_ON_SIGN: 'true',
      REPORT_PACS_MAX_HOLD_HOURS: '24',
    });
    expect(config.pacs).toEqual({ stowUrl: 'http://orthanc:8042/dicom-web', authorization: 'Bearer abc.def', sendOnSign: true, maxHoldHours: 24, objects: ['report-sr', 'overlays'] });
  });

  test('reads which objects an export sends, once each', () => {
    expect(loadConfig({ REPORT_PACS_OBJECTS: ' ai-sr, seg ,pmap,seg' }).pacs.objects).toEqual(['ai-sr', 'seg', 'pmap']);
    expect(loadConfig({ REPORT_PACS_OBJECTS: 'seg-binary,ai-sr' }).pacs.objects).toEqual(['seg-binary', 'ai-sr']);
    expect(() => loadConfig({ REPORT_PACS_OBJECTS: 'seg-fractional' })).toThrow(/REPORT_PACS_OBJECTS/);
  });

  test('refuses credentials in the URL without echoing them', () => {
    const load = () => loadConfig({ REPORT_PACS_STOW_URL: 'https://user:s3cret@pacs.example.org/dicom-web' });
    expect(load).toThrow(/REPORT_PACS_STOW_URL: credentials in the URL are not allowed/);
    expect(load).not.toThrow(/s3cret/);
  });

  test('refuses a credential on several lines without echoing it', () => {
    const load = () => loadConfig({ REPORT_PACS_STOW_URL: 'http://pacs', REPORT_PACS_AUTHORIZATION: 'Basic s3cret\r\nX-Evil: 1' });
    expect(load).toThrow(/REPORT_PACS_AUTHORIZATION: malformed setting/);
    expect(load).not.toThrow(/s3cret/);
  });

  test.each([
    [{ REPORT_PACS_SEND_ON_SIGN: 'true' }, /REPORT_PACS_SEND_ON_SIGN: needs REPORT_PACS_STOW_URL/],
    [{ REPORT_PACS_STOW_URL: 'ftp://pacs/dicom-web' }, /REPORT_PACS_STOW_URL: malformed setting/],
    [{ REPORT_PACS_MAX_HOLD_HOURS: '0' }, /REPORT_PACS_MAX_HOLD_HOURS: malformed setting/],
    [{ REPORT_PACS_OBJECTS: 'report-sr,pdf' }, /REPORT_PACS_OBJECTS: malformed setting/],
    [{ REPORT_PACS_OBJECTS: ' , ' }, /REPORT_PACS_OBJECTS: malformed setting/],
  ])('names the setting that is wrong (%o)', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });

  test('reads the model-monitoring window and limits, with defaults', () => {
    expect(loadConfig({}).monitoring).toEqual({
      retentionDays: 400,
      driftWindowMs: 7 * 86_400_000,
      limits: { positiveRateTolerance: 0.1, minImages: 50, scorePsiLimit: 0.25, agreementFloor: 0.7, agreementDrop: 0.15, minDecisions: 20 },
    });
    const config = loadConfig({ REPORT_DRIFT_WINDOW: '24h', REPORT_DRIFT_RATE_TOLERANCE: '0.05', REPORT_AGREEMENT_FLOOR: '0.8' });
    expect(config.monitoring.driftWindowMs).toBe(86_400_000);
    expect(config.monitoring.limits).toMatchObject({ positiveRateTolerance: 0.05, agreementFloor: 0.8 });
  });

  test.each([
    [{ REPORT_DRIFT_WINDOW: 'a week' }, /REPORT_DRIFT_WINDOW: malformed setting .*expected a duration/],
    [{ REPORT_DRIFT_WINDOW: '100d' }, /REPORT_DRIFT_WINDOW: malformed setting .*expected a duration/],
    [{ REPORT_DRIFT_RATE_TOLERANCE: '1.5' }, /REPORT_DRIFT_RATE_TOLERANCE/],
    [{ REPORT_AGREEMENT_FLOOR: '-0.1' }, /REPORT_AGREEMENT_FLOOR/],
  ])('names a malformed monitoring setting (%o)', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});

describe('second-read settings', () => {
  test('has no HL7 listener unless a port is set, and compares signed reports by default', () => {
    const config = loadConfig({});
    expect(config.secondRead).toEqual({ hl7: undefined, maxBodyBytes: 512 * 1024, onSign: true });
  });

  test('reads the HL7 listener settings', () => {
    const config = loadConfig({
      REPORT_HL7_PORT: '2575',
      REPORT_HL7_HOST: '0.0.0.0',
      REPORT_HL7_MAX_MESSAGE_BYTES: '65536',
      REPORT_HL7_IDLE_TIMEOUT_SECONDS: '60',
      REPORT_HL7_MAX_CONNECTIONS: '4',
      REPORT_HL7_APPLICATION: 'CXR',
      REPORT_HL7_FACILITY: 'RAD',
      REPORT_SECOND_READ_ON_SIGN: 'false',
    });
    expect(config.secondRead).toEqual({
      hl7: { host: '0.0.0.0', port: 2575, maxMessageBytes: 65536, idleTimeoutMs: 60_000, maxConnections: 4, application: 'CXR', facility: 'RAD' },
      maxBodyBytes: 512 * 1024,
      onSign: false,
    });
  });

  test.each([
    [{ REPORT_HL7_PORT: '70000' }, /REPORT_HL7_PORT/],
    [{ REPORT_HL7_MAX_MESSAGE_BYTES: '100' }, /REPORT_HL7_MAX_MESSAGE_BYTES/],
    [{ REPORT_HL7_APPLICATION: 'A|B' }, /REPORT_HL7_APPLICATION/],
    [{ REPORT_FINAL_REPORT_MAX_BYTES: '999999999' }, /REPORT_FINAL_REPORT_MAX_BYTES/],
  ])('names the second-read setting that is wrong (%o)', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message);
  });
});
