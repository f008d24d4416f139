/**
 * Part 10 File Meta Information (PS3.10 §7.1): 128-byte preamble, "DICM", then group 0002 in
 * explicit VR little endian, always, whatever the data set's transfer syntax.
 */
import { DicomParseError } from './errors.ts';
import { Tag } from './tags.ts';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME, isValidUid } from './uids.ts';
import { DicomWriteError, encodeDataSet, encodeElement, type DataElement } from './writer.ts';

export interface FileMetaInformation {
  mediaStorageSopClassUid: string;
  mediaStorageSopInstanceUid: string;
  transferSyntaxUid: string;
  /** Defaults to this package's IMPLEMENTATION_CLASS_UID. */
  implementationClassUid?: string;
  /** Defaults to IMPLEMENTATION_VERSION_NAME; at most 16 characters (SH). */
  implementationVersionName?: string;
  /** AE title, at most 16 characters. */
  sourceApplicationEntityTitle?: string;
}

export const PREAMBLE_LENGTH = 128;
export const DICM_PREFIX = 'DICM';

/** Preamble + "DICM" + group 0002 with its group length (0002,0000) first. */
export function encodeFileMetaInformation(meta: FileMetaInformation): Buffer {
  const implementationClassUid = meta.implementationClassUid ?? IMPLEMENTATION_CLASS_UID;
  const uids: [string, string][] = [
    ['MediaStorageSOPClassUID', meta.mediaStorageSopClassUid],
    ['MediaStorageSOPInstanceUID', meta.mediaStorageSopInstanceUid],
    ['TransferSyntaxUID', meta.transferSyntaxUid],
    ['ImplementationClassUID', implementationClassUid],
  ];
  for (const [name, uid] of uids) {
    if (!isValidUid(uid)) throw new DicomWriteError(`${name} is not a valid UID`);
  }
  const elements: DataElement[] = [
    { tag: Tag.FileMetaInformationVersion, vr: 'OB', value: Uint8Array.of(0x00, 0x01) },
    { tag: Tag.MediaStorageSopClassUid, vr: 'UI', value: meta.mediaStorageSopClassUid },
    { tag: Tag.MediaStorageSopInstanceUid, vr: 'UI', value: meta.mediaStorageSopInstanceUid },
    { tag: Tag.TransferSyntaxUid, vr: 'UI', value: meta.transferSyntaxUid },
    { tag: Tag.ImplementationClassUid, vr: 'UI', value: implementationClassUid },
    { tag: Tag.ImplementationVersionName, vr: 'SH', value: meta.implementationVersionName ?? IMPLEMENTATION_VERSION_NAME },
  ];
  if (meta.sourceApplicationEntityTitle !== undefined) {
    elements.push({ tag: Tag.SourceApplicationEntityTitle, vr: 'AE', value: meta.sourceApplicationEntityTitle });
  }
  const group = encodeDataSet(elements);
  const groupLength = encodeElement({ tag: Tag.FileMetaInformationGroupLength, vr: 'UL', value: group.length });
  return Buffer.concat([Buffer.alloc(PREAMBLE_LENGTH), Buffer.from(DICM_PREFIX, 'latin1'), groupLength, group]);
}

/** What readFileMetaInformation found: the group 0002 values we use, and where the data set starts. */
export interface ReadFileMetaInformation {
  mediaStorageSopClassUid?: string;
  mediaStorageSopInstanceUid?: string;
  transferSyntaxUid?: string;
  implementationClassUid?: string;
  /** Byte offset of the first data set element. */
  dataSetOffset: number;
}

/** VRs with a 2-byte reserved field and a 4-byte length in explicit VR (PS3.5 Table 7.1-1). */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

/**
 * Read group 0002 after the preamble, element by element (explicit VR little endian, PS3.10
 * §7.1), stopping at the first element of another group. Independent of dicom-parser, whose
 * header reader keeps going into group 0001 or reads garbage lengths, so that a bad header gets
 * a precise reason. The caller has already checked the DICM prefix.
 */
export function readFileMetaInformation(bytes: Uint8Array): ReadFileMetaInformation {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const values = new Map<number, string>();
  let position = PREAMBLE_LENGTH + 4;
  while (position + 8 <= bytes.length) {
    const group = view.getUint16(position, true);
    if (group !== 0x0002) break;
    const element = view.getUint16(position + 2, true);
    const vr = String.fromCharCode(bytes[position + 4]!, bytes[position + 5]!);
    let length: number;
    let valueOffset: number;
    if (LONG_VRS.has(vr)) {
      if (position + 12 > bytes.length) break;
      length = view.getUint32(position + 8, true);
      valueOffset = position + 12;
    } else if (/^[A-Z]{2}$/.test(vr)) {
      length = view.getUint16(position + 6, true);
      valueOffset = position + 8;
    } else {
      throw new DicomParseError('bad_file_meta', `file meta element (0002,${hex4(element)}) has no explicit VR`);
    }
    if (length === 0xffffffff || valueOffset + length > bytes.length) {
      throw new DicomParseError('bad_file_meta', `file meta element (0002,${hex4(element)}) has a length past the end of the file`);
    }
    if (vr === 'UI') values.set(element, readUid(bytes, valueOffset, length));
    position = valueOffset + length;
  }
  return {
    mediaStorageSopClassUid: nonEmpty(values.get(0x0002)),
    mediaStorageSopInstanceUid: nonEmpty(values.get(0x0003)),
    transferSyntaxUid: nonEmpty(values.get(0x0010)),
    implementationClassUid: nonEmpty(values.get(0x0012)),
    dataSetOffset: position,
  };
}

function hex4(n: number): string {
  return n.toString(16).toUpperCase().padStart(4, '0');
}

function readUid(bytes: Uint8Array, offset: number, length: number): string {
  let text = '';
  for (let i = 0; i < length; i++) {
    const c = bytes[offset + i]!;
    if (c === 0) break;
    text += String.fromCharCode(c);
  }
  return text.trim();
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
