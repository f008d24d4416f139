import { describe, expect, test } from 'vitest';
import { ModelRefError, formatModelRef, parseModelRef, parseModelSource } from './model-ref.ts';

describe('model references', () => {
  test('reads id@version, pre-release versions included', () => {
    expect(parseModelRef('reference-cxr@0.2.0')).toEqual({ id: 'reference-cxr', version: '0.2.0' });
    expect(formatModelRef(parseModelRef('cxr@1.0.0-rc.1'))).toBe('cxr@1.0.0-rc.1');
  });

  test.each(['reference-cxr', '@0.2.0', 'reference-cxr@', 'Reference@0.2.0', 'reference-cxr@latest', 'a/b@1.0.0'])('refuses %j', (text) => {
    expect(() => parseModelRef(text)).toThrow(ModelRefError);
  });

  test('reads a bucket source with or without a prefix, and anything else as a directory', () => {
    expect(parseModelSource('s3://cxr-models')).toEqual({ kind: 's3', bucket: 'cxr-models', prefix: '' });
    expect(parseModelSource('s3://cxr-models/prod/cxr/')).toEqual({ kind: 's3', bucket: 'cxr-models', prefix: 'prod/cxr/' });
    expect(parseModelSource('models', '/srv/app')).toEqual({ kind: 'dir', dir: '/srv/app/models' });
    expect(() => parseModelSource('s3://X')).toThrow(/not a bucket name/);
  });
});
