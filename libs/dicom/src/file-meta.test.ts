import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runDcmtkSync } from '@cxr/dcmtk';
import { encodeFileMetaInformation } from './file-meta.ts';
import { Tag } from './tags.ts';
import { IMPLEMENTATION_CLASS_UID, SopClass, TransferSyntax } from './uids.ts';
import { encodeDataSet } from './writer.ts';

const sopInstanceUid = '1.2.3.4.5';

describe('encodeFileMetaInformation', () => {
  test('writes a zero preamble, DICM and a group length that covers the rest of group 0002', () => {
    const meta = encodeFileMetaInformation({
      mediaStorageSopClassUid: SopClass.SecondaryCaptureImageStorage,
      mediaStorageSopInstanceUid: sopInstanceUid,
      transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian,
    });
    expect(meta.subarray(0, 128).every((b) => b === 0)).toBe(true);
    expect(meta.toString('latin1', 128, 132)).toBe('DICM');
    // (0002,0000) UL 4 <group length>
    expect([...meta.subarray(132, 140)]).toEqual([0x02, 0x00, 0x00, 0x00, 0x55, 0x4c, 0x04, 0x00]);
    expect(meta.readUInt32LE(140)).toBe(meta.length - 144);
    // (0002,0001) OB 00 00 len=2 00 01
    expect([...meta.subarray(144, 158)]).toEqual([
      0x02, 0x00, 0x01, 0x00, 0x4f, 0x42, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01,
    ]);
  });

  test('pads an odd-length UID with a NUL byte', () => {
    const meta = encodeFileMetaInformation({
      mediaStorageSopClassUid: SopClass.SecondaryCaptureImageStorage,
      mediaStorageSopInstanceUid: sopInstanceUid, // 9 characters → 10 bytes
      transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian,
    });
    const at = meta.indexOf(Buffer.from('1.2.3.4.5', 'latin1'));
    expect(meta.readUInt16LE(at - 2)).toBe(10);
    expect(meta[at + 9]).toBe(0);
  });

  test('refuses an invalid UID', () => {
    expect(() =>
      encodeFileMetaInformation({
        mediaStorageSopClassUid: SopClass.SecondaryCaptureImageStorage,
        mediaStorageSopInstanceUid: '1.02.3',
        transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian,
      }),
    ).toThrow(/MediaStorageSOPInstanceUID/);
  });

  test('produces a header that DCMTK dcmdump reads without complaint', () => {
    const meta = encodeFileMetaInformation({
      mediaStorageSopClassUid: SopClass.SecondaryCaptureImageStorage,
      mediaStorageSopInstanceUid: sopInstanceUid,
      transferSyntaxUid: TransferSyntax.ExplicitVRLittleEndian,
      sourceApplicationEntityTitle: 'CXR_TEST',
    });
    const dataSet = encodeDataSet([
      { tag: Tag.SopClassUid, vr: 'UI', value: SopClass.SecondaryCaptureImageStorage },
      { tag: Tag.SopInstanceUid, vr: 'UI', value: sopInstanceUid },
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'cxr-file-meta-'));
    try {
      const file = join(dir, 'meta.dcm');
      writeFileSync(file, Buffer.concat([meta, dataSet]));
      const result = runDcmtkSync('dcmdump', ['-E', '+L', file], { encoding: 'latin1', allowFailure: true });
      expect(result.code).toBe(0);
      expect(result.stderr).toBe(''); // dcmdump -E prints warnings and errors to stderr
      const out = result.stdout;
      expect(out).toContain('(0002,0010) UI =LittleEndianExplicit');
      expect(out).toContain(`(0002,0012) UI [${IMPLEMENTATION_CLASS_UID}]`);
      expect(out).toContain('(0002,0016) AE [CXR_TEST]');
      expect(out).toContain('(0008,0018) UI [1.2.3.4.5]');
      expect(out).not.toMatch(/W:|E:/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
