import { expect, test } from 'vitest';
import { parseFindResponses, validUid } from './dimse-prior-source.ts';

// What findscu +sr logs for two pending responses and the final one (DCMTK 3.6.7).
const FINDSCU_OUTPUT = [
  'I: Find Response: 1 (Pending)',
  'I:',
  'I: # Dicom-Data-Set',
  'I: # Used TransferSyntax: Little Endian Explicit',
  'I: (0008,0020) DA [20250310]                               #   8, 1 StudyDate',
  'I: (0008,0061) CS [CR\\DX]                                  #   6, 2 ModalitiesInStudy',
  'I: (0010,0021) LO (no value available)                     #   0, 0 IssuerOfPatientID',
  'I: (0020,000d) UI [2.25.43690644051043720777469754883772547908\0] #  42, 1 StudyInstanceUID',
  'I: Find Response: 2 (Pending)',
  'I: (0008,0020) DA [20240101]                               #   8, 1 StudyDate',
  'I: (0020,000d) UI [1.2.3.4]                                #   8, 1 StudyInstanceUID',
  'I: Received Final Find Response (Success)',
  'I: (0020,000d) UI [9.9.9]                                  #   6, 1 StudyInstanceUID',
].join('\n');

test('reads each pending C-FIND response of findscu, not what follows the final one', () => {
  const responses = parseFindResponses(FINDSCU_OUTPUT);
  expect(responses.map((r) => Object.fromEntries(r))).toEqual([
    { '0008,0020': '20250310', '0008,0061': 'CR\\DX', '0010,0021': '', '0020,000D': '2.25.43690644051043720777469754883772547908' },
    { '0008,0020': '20240101', '0020,000D': '1.2.3.4' },
  ]);
});

test('drops the NUL that pads an odd-length UID (the bug that put a NUL on the C-MOVE command line)', () => {
  expect(parseFindResponses(FINDSCU_OUTPUT)[0]?.get('0020,000D')).not.toContain('\0');
});

test.each([
  ['1.2.840.10008.1', '1.2.840.10008.1'],
  ['1.2.03', undefined],
  ['1.2.3 -k PatientID=*', undefined],
  ['1.'.repeat(40) + '1', undefined],
])('validUid(%j) is %j', (input, expected) => {
  expect(validUid(input)).toBe(expected);
});
