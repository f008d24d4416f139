/**
 * The corpus is what its manifest says, read by DCMTK and GDCM rather than by our own parser:
 * tests elsewhere trust the manifest, so this is where it must be able to fail.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { corpus } from './corpus.ts';
import type { CorpusCase } from './manifest.ts';

const { manifest, path, sourcePixels } = corpus();
const work = mkdtempSync(join(tmpdir(), 'corpus-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** `dcmdump` of the given tags: tag → value text (strings unbracketed). */
function dump(file: string, extra: string[] = []): Map<string, string> {
  const out = execFileSync('dcmdump', ['-q', '-Un', ...extra, file], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 });
  const values = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^\(([0-9a-f]{4}),([0-9a-f]{4})\) [A-Z]{2} (?:\[([^\]]*)\]|=?(\S+))/.exec(line);
    if (m && !values.has(`${m[1]}${m[2]}`)) values.set(`${m[1]}${m[2]}`, m[3] ?? m[4]!);
  }
  return values;
}

const images = manifest.cases.filter((c) => c.image?.source && !c.refusal);
const readable = manifest.cases.filter((c) => !c.refusal);

/** The frames as DCMTK/GDCM decode them, as a typed array of the source's type. */
function decodedByTools(c: CorpusCase): ArrayLike<number> {
  const file = path(c.name);
  const native = join(work, `${c.name}.native.dcm`);
  const ts = c.transferSyntaxUid!;
  if (ts.startsWith('1.2.840.10008.1.2.4.9')) execFileSync('gdcmconv', ['--quiet', '--raw', file, native]);
  else if (ts.startsWith('1.2.840.10008.1.2.4.8')) execFileSync('dcmdjpls', [file, native]);
  else if (ts.startsWith('1.2.840.10008.1.2.4.')) execFileSync('dcmdjpeg', ['+cp', file, native]);
  else if (ts === '1.2.840.10008.1.2.5') execFileSync('dcmdrle', [file, native]);
  // Native (little or big endian, deflated): explicit little endian, so the raw dump is in host order.
  else execFileSync('dcmconv', ['+te', file, native]);
  dump(native, ['+W', work]);
  // dcmdump +W writes the pixel data to <input name>.0.raw (the first pixel data element).
  const bytes = readFileSync(join(work, `${c.name}.native.dcm.0.raw`));
  const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
  const type = c.image!.source!.type;
  return type === 'Uint8Array' ? new Uint8Array(copy) : type === 'Int16Array' ? new Int16Array(copy) : new Uint16Array(copy);
}

describe('the generated DICOM corpus', () => {
  test('holds every transfer syntax, photometric interpretation and odd case the suite relies on', () => {
    const syntaxes = new Set(manifest.cases.map((c) => c.transferSyntaxUid));
    for (const ts of [
      '1.2.840.10008.1.2', '1.2.840.10008.1.2.1', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.1.99', '1.2.840.10008.1.2.4.50',
      '1.2.840.10008.1.2.4.51', '1.2.840.10008.1.2.4.70', '1.2.840.10008.1.2.4.80', '1.2.840.10008.1.2.4.90', '1.2.840.10008.1.2.4.91',
      '1.2.840.10008.1.2.5',
    ]) expect(syntaxes, ts).toContain(ts);
    const photometrics = new Set(manifest.cases.map((c) => c.image?.photometric));
    for (const p of ['MONOCHROME1', 'MONOCHROME2', 'RGB', 'YBR_FULL', 'YBR_FULL_422']) expect(photometrics, p).toContain(p);
    expect(manifest.cases.some((c) => c.image?.modalityLut)).toBe(true);
    expect(manifest.cases.some((c) => c.image?.voiLut)).toBe(true);
    expect(manifest.cases.some((c) => (c.image?.frames ?? 0) > 1)).toBe(true);
    expect(manifest.cases.some((c) => c.image?.bitsAllocated === 1)).toBe(true);
    expect(manifest.cases.filter((c) => !c.image && !c.refusal).map((c) => c.modality)).toContain('SR');
    expect(new Set(manifest.cases.map((c) => c.refusal?.reason))).toEqual(
      new Set([undefined, 'not_part10', 'missing_transfer_syntax', 'truncated', 'sop_instance_mismatch']),
    );
  });

  test('gives every readable file UIDs of its own', () => {
    expect(new Set(readable.map((c) => c.sopInstanceUid)).size).toBe(readable.length);
  });

  test.each(readable.map((c) => [c.name, c] as const))('%s reads in DCMTK as the manifest says', (_name, c) => {
    const values = dump(path(c.name));
    expect(values.get('00020010') ?? undefined).toBe(c.transferSyntaxUid);
    expect(values.get('00080016')).toBe(c.sopClassUid);
    expect(values.get('00080018')).toBe(c.sopInstanceUid);
    expect(values.get('0020000d')).toBe(c.studyInstanceUid);
    expect(values.get('00080060')).toBe(c.modality);
    expect(values.get('00100010')).toBe(c.identifiers.patientName);
    if (!c.image) {
      expect(values.has('7fe00010')).toBe(false);
      return;
    }
    expect(Number(values.get('00280010'))).toBe(c.image.rows);
    expect(Number(values.get('00280011'))).toBe(c.image.columns);
    expect(Number(values.get('00280008') ?? 1)).toBe(c.image.frames);
    expect(values.get('00280004')).toBe(c.image.photometric);
    expect(Number(values.get('00280101'))).toBe(c.image.bitsStored);
    expect(Number(values.get('00280103'))).toBe(c.image.pixelRepresentation);
  });

  test.each(images.map((c) => [c.name, c] as const))('%s decodes with DCMTK/GDCM to the source pixels (exactly, or within its stated tolerance)', (_name, c) => {
    const source = sourcePixels(c.name);
    const decoded = decodedByTools(c);
    expect(decoded.length).toBe(source.length);
    const { lossless, tolerance } = c.image!.source!;
    let max = 0;
    let sum = 0;
    for (let i = 0; i < source.length; i++) {
      const d = Math.abs(decoded[i]! - source[i]!);
      sum += d;
      if (d > max) max = d;
    }
    if (lossless) {
      expect(max).toBe(0);
    } else {
      // Lossy, but not so lossy that a decoder returning something else would pass.
      expect(max).toBeGreaterThan(0);
      expect(max).toBeLessThanOrEqual(tolerance!.maxAbs);
      expect(sum / source.length).toBeLessThanOrEqual(tolerance!.meanAbs);
    }
  });

  test.each(manifest.cases.filter((c) => c.refusal).map((c) => [c.name, c.refusal!.reason] as const))('%s is malformed as stated (%s)', (name, reason) => {
    const file = path(name);
    const bytes = readFileSync(file);
    if (reason === 'not_part10') expect(bytes.toString('latin1', 128, 132)).not.toBe('DICM');
    else expect(bytes.toString('latin1', 128, 132)).toBe('DICM');
    if (reason === 'missing_transfer_syntax') expect(dump(file).has('00020010')).toBe(false);
    if (reason === 'sop_instance_mismatch') {
      const values = dump(file);
      expect(values.get('00020003')).not.toBe(values.get('00080018'));
    }
    if (reason === 'truncated') expect(() => execFileSync('dcmdump', ['-q', '+E', file], { stdio: 'pipe' })).toThrow();
  });
});
