import { describe, expect, test } from 'vitest';
import { PresentationContextResult } from './dimse-constants.ts';
import { classifyAbstractSyntax, negotiatePresentationContexts } from './presentation-policy.ts';

describe('presentation context policy', () => {
  test.each([
    ['1.2.840.10008.1.1', 'verification'], // Verification
    ['1.2.840.10008.5.1.4.1.1.1', 'storage'], // CR Image Storage
    ['1.2.840.10008.5.1.4.1.1.1.1', 'storage'], // DX For Presentation
    ['1.2.840.10008.5.1.4.1.1.88.33', 'storage'], // Comprehensive SR
    ['1.2.840.10008.5.1.4.1.1.66.4', 'storage'], // Segmentation
    ['1.2.840.10008.5.1.4.38.1', 'storage'], // Hanging Protocol Storage
    ['1.3.12.2.1107.5.9.1', 'storage'], // a private (vendor) storage class
    ['1.2.840.10008.5.1.4.1.2.2.1', 'unsupported'], // Study Root Q/R FIND
    ['1.2.840.10008.5.1.4.1.2.2.2', 'unsupported'], // Study Root Q/R MOVE
    ['1.2.840.10008.5.1.4.31', 'unsupported'], // Modality Worklist FIND
    ['1.2.840.10008.1.20.1', 'unsupported'], // Storage Commitment Push
    ['not a uid', 'unsupported'],
  ])('classifies %s as %s', (uid, kind) => {
    expect(classifyAbstractSyntax(uid)).toBe(kind);
  });

  test("accepts the sender's first standard transfer syntax, compressed or not", () => {
    const [jpeg, bigEndian, privateFirst] = negotiatePresentationContexts([
      { id: 1, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.1.1', transferSyntaxUids: ['1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.1'] },
      { id: 3, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.1.4', transferSyntaxUids: ['1.2.840.10008.1.2.2', '1.2.840.10008.1.2'] },
      { id: 5, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.1.4', transferSyntaxUids: ['1.2.3.4.5', '1.2.840.10008.1.2.1.99'] },
    ]);
    expect(jpeg).toMatchObject({ result: PresentationContextResult.Acceptance, transferSyntaxUid: '1.2.840.10008.1.2.4.70' });
    expect(bigEndian).toMatchObject({ result: PresentationContextResult.Acceptance, transferSyntaxUid: '1.2.840.10008.1.2.2' });
    expect(privateFirst).toMatchObject({ result: PresentationContextResult.Acceptance, transferSyntaxUid: '1.2.840.10008.1.2.1.99' });
  });

  test('rejects Query/Retrieve, unknown-only syntaxes and even or repeated context ids', () => {
    const results = negotiatePresentationContexts([
      { id: 1, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.2.2.1', transferSyntaxUids: ['1.2.840.10008.1.2'] },
      { id: 3, abstractSyntaxUid: '1.2.840.10008.5.1.4.1.1.1', transferSyntaxUids: ['1.2.3.4'] },
      { id: 5, abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: ['1.2.840.10008.1.2'] },
      { id: 5, abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: ['1.2.840.10008.1.2'] },
      { id: 6, abstractSyntaxUid: '1.2.840.10008.1.1', transferSyntaxUids: ['1.2.840.10008.1.2'] },
    ]).map((r) => r.result);
    expect(results).toEqual([
      PresentationContextResult.AbstractSyntaxNotSupported,
      PresentationContextResult.TransferSyntaxesNotSupported,
      PresentationContextResult.Acceptance,
      PresentationContextResult.ProviderRejection,
      PresentationContextResult.ProviderRejection,
    ]);
  });
});
