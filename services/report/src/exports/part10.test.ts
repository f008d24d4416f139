import { describe, expect, test } from 'vitest';
import { isValidUid, SopClass } from '@cxr/dicom';
import dcmjs from 'dcmjs';
import { codeItem, derivedUid, ExportEncodingError, findingConcept, fitText, float32LittleEndian, personName, readHeaderAttributes, writePart10 } from './part10.ts';

describe('part10 helpers', () => {
  test('derives valid, stable UIDs that differ with their parts', () => {
    const a = derivedUid('sr', '1.2.3', '1');
    expect(isValidUid(a)).toBe(true);
    expect(a.startsWith('2.25.')).toBe(true);
    expect(derivedUid('sr', '1.2.3', '1')).toBe(a);
    expect(derivedUid('sr', '1.2.3', '2')).not.toBe(a);
    // Parts are separated: ('1.2', '3') is not ('1.', '23').
    expect(derivedUid('1.2', '3')).not.toBe(derivedUid('1.', '23'));
  });

  test('puts codes longer than 16 characters in Long Code Value', () => {
    expect(codeItem({ value: '60046008', scheme: 'SCT', meaning: 'Pleural effusion' })).toEqual({ CodeValue: '60046008', CodingSchemeDesignator: 'SCT', CodeMeaning: 'Pleural effusion' });
    expect(codeItem({ value: '1234567890123456789', scheme: 'SCT', meaning: 'x' })).toEqual({ LongCodeValue: '1234567890123456789', CodingSchemeDesignator: 'SCT', CodeMeaning: 'x' });
  });

  test('maps finding codings to DICOM schemes, and uncoded findings to the local scheme', () => {
    expect(findingConcept({ code: 'nodule', display: 'Lung nodule', coding: { system: 'http://snomed.info/sct', code: '786838002', display: 'Pulmonary nodule' } })).toEqual({ value: '786838002', scheme: 'SCT', meaning: 'Pulmonary nodule' });
    expect(findingConcept({ code: 'mass', display: 'Lung mass', coding: null })).toEqual({ value: 'mass', scheme: '99CXR', meaning: 'Lung mass' });
    expect(findingConcept({ code: 'x', display: 'X', coding: { system: 'http://example.org/unknown', code: '1', display: 'one' } }).scheme).toBe('99CXR');
  });

  test('fits composed text to its VR in ASCII, and makes person names safe PN values', () => {
    expect(fitText('a'.repeat(70), 'LO')).toBe(`${'a'.repeat(61)}...`);
    expect(fitText('back\\slash\nline', 'LO')).toBe('back/slash line');
    expect(personName('Dr  Ada ^ Lovelace=x')).toEqual({ Alphabetic: 'Dr Ada Lovelace x' });
    expect(personName('   ')).toEqual({ Alphabetic: 'Unknown' });
  });

  test('refuses a data set with a keyword dcmjs would silently drop', () => {
    const base = { SOPClassUID: SopClass.ComprehensiveSR, SOPInstanceUID: derivedUid('t') };
    expect(() => writePart10({ ...base, PatientNmae: 'x' })).toThrow(ExportEncodingError);
    expect(() => writePart10({ ...base, ContentSequence: [{ ValueTyp: 'TEXT' }] })).toThrow(/ValueTyp/);
    const bytes = writePart10({ ...base, PatientName: [{ Alphabetic: 'A^B' }], ContentSequence: [{ ValueType: 'TEXT', TextValue: 'ok' }] });
    const read = readHeaderAttributes(bytes);
    expect(read.PatientName).toEqual([{ Alphabetic: 'A^B' }]);
    expect(read.SpecificCharacterSet).toBeUndefined();
  });

  test('appends raw pixel data as the last element, padded to an even length, where a DICOM reader finds it', () => {
    const bytes = writePart10(
      { SOPClassUID: SopClass.SecondaryCaptureImageStorage, SOPInstanceUID: '1.2.3.4', Rows: 1, Columns: 3 },
      { keyword: 'PixelData', vr: 'OB', bytes: Uint8Array.of(7, 8, 9) },
    );
    // (7FE0,0010) OB, 2 reserved bytes, length 4, then 07 08 09 and one pad byte.
    expect([...bytes.subarray(bytes.length - 16)]).toEqual([0xe0, 0x7f, 0x10, 0x00, 0x4f, 0x42, 0, 0, 4, 0, 0, 0, 7, 8, 9, 0]);
    const read = dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) as ArrayBuffer).dict);
    expect(read.Columns).toBe(3);
    expect([...new Uint8Array((read.PixelData as ArrayBuffer[])[0]!)]).toEqual([7, 8, 9, 0]);
  });

  test('writes float pixels little endian', () => {
    expect([...float32LittleEndian(Float32Array.of(1, -2))]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]);
  });

  test('refuses pixel data given twice', () => {
    const dataset = { SOPClassUID: SopClass.SecondaryCaptureImageStorage, SOPInstanceUID: '1.2.3.4', PixelData: [new ArrayBuffer(2)] };
    expect(() => writePart10(dataset, { keyword: 'PixelData', vr: 'OB', bytes: Uint8Array.of(1, 2) })).toThrow(ExportEncodingError);
  });
});
