import { describe, expect, test } from 'vitest';
import { ANALYSIS_INPUT_LONG_SIDE } from '@cxr/contracts';
import { ConfigError } from '@cxr/platform';
import { loadConfig } from './config.ts';

describe('loadConfig', () => {
  test("stores the analysis input at the reference model's input size unless told otherwise", () => {
    expect(loadConfig({}).analysisInputSize).toBe(ANALYSIS_INPUT_LONG_SIDE);
    expect(loadConfig({ INGEST_ANALYSIS_INPUT_SIZE: '512' }).analysisInputSize).toBe(512);
  });

  test.each(['0', '-256', '256.5', 'large', '5000'])('refuses INGEST_ANALYSIS_INPUT_SIZE=%s, naming the setting', (value) => {
    expect(() => loadConfig({ INGEST_ANALYSIS_INPUT_SIZE: value })).toThrow(ConfigError);
    expect(() => loadConfig({ INGEST_ANALYSIS_INPUT_SIZE: value })).toThrow(/INGEST_ANALYSIS_INPUT_SIZE: malformed setting/);
  });

  test('has DIMSE limits and no receive budget setting by default, and reads them when given', () => {
    const defaults = loadConfig({});
    expect(defaults.dimse).toMatchObject({
      artimTimeoutMs: 30_000, maxPendingConnections: 64, maxConnectionsPerPeer: 32, maxAssociationsPerPeer: 8,
      maxAssociationsPerCallingAe: 8, messageTimeoutMs: 600_000,
    });
    expect(defaults.receiveRate).toEqual({ minBytesPerSecond: 8192, windowMs: 10_000 });
    expect(defaults.receiveMemoryBytes).toBeUndefined();
    expect(defaults.stow.maxConcurrent).toBe(4);
    const set = loadConfig({ INGEST_ARTIM_TIMEOUT_MS: '500', INGEST_MIN_RECEIVE_BYTES_PER_S: '0', INGEST_RECEIVE_MEMORY_BYTES: '1048576', INGEST_STOW_MAX_CONCURRENT: '1' });
    expect(set.dimse.artimTimeoutMs).toBe(500);
    expect(set.receiveRate.minBytesPerSecond).toBe(0);
    expect(set.receiveMemoryBytes).toBe(1048576);
    expect(set.stow.maxConcurrent).toBe(1);
  });

  test.each([['INGEST_ARTIM_TIMEOUT_MS', '0'], ['INGEST_RECEIVE_MEMORY_BYTES', 'lots'], ['INGEST_MAX_ASSOCIATIONS_PER_PEER', '-1']])('refuses %s=%s, naming the setting', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}: malformed setting`));
  });

  test('looks for two priors of up to five years in its own store only, waiting 10 s per PACS, unless told otherwise', () => {
    expect(loadConfig({}).priors).toEqual({ max: 2, maxAgeDays: 1825, waitMs: 10_000, pacs: [] });
  });

  test('reads the PACS to ask for priors from a JSON array, DICOMweb and DIMSE', () => {
    const pacs = JSON.stringify([
      { name: 'main', kind: 'dicomweb', url: 'http://pacs:8042/dicom-web/' },
      { name: 'old', kind: 'dimse', host: '10.1.2.3', port: 104, aeTitle: 'PACS', retrieve: 'move' },
    ]);
    expect(loadConfig({ INGEST_PRIORS_PACS: pacs }).priors.pacs).toEqual([
      { name: 'main', kind: 'dicomweb', url: 'http://pacs:8042/dicom-web/' },
      { name: 'old', kind: 'dimse', host: '10.1.2.3', port: 104, aeTitle: 'PACS', retrieve: 'move' },
    ]);
  });

  test.each([
    ['not JSON', 'pacs'],
    ['a PACS without a kind', JSON.stringify([{ name: 'x', url: 'http://p/' }])],
    ['two PACS of the same name', JSON.stringify([{ name: 'x', kind: 'dicomweb', url: 'http://a/' }, { name: 'x', kind: 'dicomweb', url: 'http://b/' }])],
    ['an AE title too long', JSON.stringify([{ name: 'x', kind: 'dimse', host: 'h', port: 104, aeTitle: 'AN-AE-TITLE-TOO-LONG' }])],
  ])('refuses INGEST_PRIORS_PACS with %s, naming the setting', (_, value) => {
    expect(() => loadConfig({ INGEST_PRIORS_PACS: value })).toThrow(/INGEST_PRIORS_PACS: malformed setting/);
  });

  test.each([
    ['not JSON', 'main Basic c2VjcmV0OnB3', /INGEST_PRIORS_PACS: malformed setting \(expected a JSON array of PACS; the value is not shown/],
    ['a bad URL beside the authorization', JSON.stringify([{ name: 'main', kind: 'dicomweb', url: 'pacs/dicom-web', authorization: 'Basic c2VjcmV0OnB3' }]), /INGEST_PRIORS_PACS: malformed setting at \[0\]\.url \(Invalid URL; the value is not shown/],
    ['an unknown field beside the authorization', JSON.stringify([{ name: 'main', kind: 'dicomweb', url: 'http://pacs/', authorization: 'Basic c2VjcmV0OnB3', user: 'x' }]), /INGEST_PRIORS_PACS: malformed setting at \[0\] \(.*; the value is not shown/],
  ])('refuses INGEST_PRIORS_PACS with %s, saying where, without echoing the value', (_, value, message) => {
    let error: Error | undefined;
    try {
      loadConfig({ INGEST_PRIORS_PACS: value });
    } catch (e) {
      error = e as Error;
    }
    expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('c2VjcmV0');
    expect(error?.message).not.toContain('pacs/dicom-web');
  });
});
