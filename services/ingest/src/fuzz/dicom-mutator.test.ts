import { describe, expect, test } from 'vitest';
import { elementOffsets, mutate, mutatedFile, seededRandom, withOwnInstanceUid } from './dicom-mutator.ts';

const UID = '2.25.123456789012345678901234567890';

/** Preamble, "DICM", then (0008,0018) UI with the UID, and (7FE0,0010) OB of 8 bytes. */
function sampleFile(): Buffer {
  const uid = Buffer.from(`${UID}\0`.slice(0, UID.length % 2 ? UID.length + 1 : UID.length), 'latin1');
  const sop = Buffer.alloc(8);
  sop.writeUInt16LE(0x0008, 0);
  sop.writeUInt16LE(0x0018, 2);
  sop.write('UI', 4, 'latin1');
  sop.writeUInt16LE(uid.length, 6);
  const pixels = Buffer.alloc(12);
  pixels.writeUInt16LE(0x7fe0, 0);
  pixels.writeUInt16LE(0x0010, 2);
  pixels.write('OB', 4, 'latin1');
  pixels.writeUInt32LE(8, 8);
  return Buffer.concat([Buffer.alloc(128), Buffer.from('DICM'), sop, uid, pixels, Buffer.alloc(8, 7)]);
}

describe('DICOM mutator', () => {
  test('makes the same file from the same seed and index, and another from another index', () => {
    const source = sampleFile();
    const a = mutatedFile(source, UID, 5, 10);
    const b = mutatedFile(source, UID, 5, 10);
    const c = mutatedFile(source, UID, 5, 11);
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.mutations).toEqual(b.mutations);
    expect(c.sopInstanceUid).not.toBe(a.sopInstanceUid);
  });

  test('leaves the source file unchanged', () => {
    const source = sampleFile();
    const copy = Buffer.from(source);
    for (let i = 0; i < 50; i++) mutatedFile(source, UID, 1, i);
    expect(source.equals(copy)).toBe(true);
  });

  test('gives each file a SOP Instance UID of its own, of the same length, in place', () => {
    const bytes = sampleFile();
    const uid = withOwnInstanceUid(bytes, UID, 42);
    expect(uid).toHaveLength(UID.length);
    expect(uid).toMatch(/^2\.25\.9\d+$/);
    expect(bytes.includes(Buffer.from(uid!, 'latin1'))).toBe(true);
    expect(bytes.includes(Buffer.from(UID, 'latin1'))).toBe(false);
  });

  test('finds the explicit VR element headers', () => {
    expect(elementOffsets(sampleFile())).toEqual(expect.arrayContaining([132, 132 + 8 + UID.length + 1]));
  });

  test('makes an OB length huge in place', () => {
    const bytes = sampleFile();
    const pixelsAt = 132 + 8 + UID.length + 1;
    // A PRNG that always picks the last candidate element and the first huge length.
    let calls = 0;
    const out = mutate(bytes, 'huge-length', () => (calls++ === 0 ? 0.99 : 0));
    expect(out.readUInt32LE(pixelsAt + 8)).toBe(0xffffffff);
  });

  test('truncates to a shorter file', () => {
    const random = seededRandom(3);
    const bytes = sampleFile();
    expect(mutate(bytes, 'truncate', random).length).toBeLessThan(bytes.length);
  });
});
