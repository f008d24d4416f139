import { describe, expect, test } from 'vitest';
import { validate } from '@readme/openapi-parser';
import { buildOpenApiDocument } from './openapi-document.ts';

describe('the OpenAPI document', () => {
  const document = buildOpenApiDocument({ serverUrl: 'http://127.0.0.1:8090', version: '0.1.0' });

  test('is a valid OpenAPI 3.1 document', async () => {
    const result = await validate(structuredClone(document) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  test('describes the report body from the contract, disclaimer and ETag included', () => {
    const report = (document.components as { schemas: Record<string, { properties: Record<string, unknown>; required: string[] }> }).schemas.Report!;
    expect(report.required).toEqual(expect.arrayContaining(['etag', 'aiGenerated', 'signed', 'disclaimer', 'findings', 'sentences']));
    expect(report.properties.aiGenerated).toMatchObject({ const: true });
  });

  test('says the shipped model is synthetic-only and the drafts unsigned', () => {
    expect((document.info as { description: string }).description).toMatch(/synthetic images only; not for clinical use/);
  });
});
