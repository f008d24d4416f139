/**
 * Structural checks on a DICOM Part 10 file, before and after dicom-parser has read it.
 *
 * dicom-parser is forgiving: it accepts a data set without a Part 10 header when told the
 * transfer syntax, invents nothing, and checks few lengths. We refuse early and say why, because
 * a file that gets past ingest is trusted by every later service.
 */
import type { DataSet, Element } from 'dicom-parser';
import { DicomParseError, DicomValidationError, UnsupportedTransferSyntaxError } from './errors.ts';
import { formatTag } from './tags.ts';
import { isValidUid, TransferSyntax } from './uids.ts';
import { DICM_PREFIX, PREAMBLE_LENGTH } from './file-meta.ts';

/** Deepest sequence nesting we walk; real objects rarely exceed 5. */
export const MAX_SEQUENCE_DEPTH = 32;

/** 128-byte preamble followed by "DICM" (PS3.10 §7.1). */
export function checkPart10Prefix(bytes: Uint8Array): void {
  if (bytes.length < PREAMBLE_LENGTH + 4) {
    throw new DicomParseError(
      'not_part10',
      `file is ${bytes.length} bytes, shorter than the 128-byte preamble and DICM prefix: not a DICOM Part 10 file`,
    );
  }
  for (let i = 0; i < 4; i++) {
    if (bytes[PREAMBLE_LENGTH + i] !== DICM_PREFIX.charCodeAt(i)) {
      throw new DicomParseError(
        'not_part10',
        'no "DICM" prefix after the 128-byte preamble: not a DICOM Part 10 file (preamble and file meta information missing)',
      );
    }
  }
}

/**
 * Transfer syntaxes whose data set encoding we know. Every standard syntax other than implicit
 * VR, big endian and deflate encodes the data set in explicit VR little endian; only its pixel
 * data differ. A private syntax may encode the data set any way at all, so it is refused.
 */
export function checkTransferSyntaxReadable(transferSyntaxUid: string): void {
  if (!isValidUid(transferSyntaxUid)) {
    throw new DicomValidationError('invalid_transfer_syntax', 'Transfer Syntax UID (0002,0010) is not a valid UID');
  }
  const standardPrefix = TransferSyntax.ImplicitVRLittleEndian;
  if (transferSyntaxUid !== standardPrefix && !transferSyntaxUid.startsWith(standardPrefix + '.')) {
    throw new UnsupportedTransferSyntaxError(
      transferSyntaxUid,
      `transfer syntax ${transferSyntaxUid} is not a standard DICOM transfer syntax; its data set encoding is unknown`,
    );
  }
}

/** A UID attribute that must be present and syntactically valid (PS3.5 §9.1). */
export function requireUid(value: string | undefined, name: string, tag: string): string {
  if (value === undefined || value.length === 0) {
    throw new DicomValidationError('missing_attribute', `required attribute ${name} ${formatTag(tag)} is missing or empty`);
  }
  if (!isValidUid(value)) {
    throw new DicomValidationError(
      'invalid_uid',
      `${name} ${formatTag(tag)} is not a valid UID (at most 64 characters of digits and dots, no empty or zero-led component)`,
    );
  }
  return value;
}

/**
 * Every element, in every sequence item, must lie inside the byte array, and so must every
 * pixel data fragment. dicom-parser catches most overruns itself, but not all of them (e.g. a
 * defined-length sequence whose items claim more than it holds).
 */
export function checkElementBounds(dataSet: DataSet): void {
  const limit = dataSet.byteArray.length;
  const stack: { dataSet: DataSet; depth: number }[] = [{ dataSet, depth: 0 }];
  while (stack.length > 0) {
    const { dataSet: current, depth } = stack.pop()!;
    if (depth > MAX_SEQUENCE_DEPTH) {
      throw new DicomParseError('too_deep', `sequences nested deeper than ${MAX_SEQUENCE_DEPTH} levels`);
    }
    for (const element of Object.values(current.elements) as Element[]) {
      checkElementInside(element, limit);
      for (const fragment of element.fragments ?? []) {
        if (fragment.position < 0 || fragment.length < 0 || fragment.position + fragment.length > limit) {
          throw new DicomParseError('element_past_end', `a pixel data fragment extends past the end of the file`);
        }
      }
      for (const item of element.items ?? []) {
        checkElementInside(item, limit);
        if (item.dataSet) stack.push({ dataSet: item.dataSet, depth: depth + 1 });
      }
    }
  }
}

function checkElementInside(element: Element, limit: number): void {
  const { dataOffset, length } = element;
  if (
    !Number.isInteger(dataOffset) ||
    !Number.isInteger(length) ||
    dataOffset < 0 ||
    length < 0 ||
    dataOffset + length > limit
  ) {
    throw new DicomParseError(
      'element_past_end',
      `element ${formatTag(element.tag)} at byte ${dataOffset} has length ${length}, past the end of the ${limit}-byte data`,
    );
  }
}
