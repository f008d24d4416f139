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
});
