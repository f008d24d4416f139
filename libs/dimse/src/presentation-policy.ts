/**
 * Which presentation contexts we accept, and with which transfer syntax.
 *
 * Abstract syntaxes: Verification, and storage in general rather than a short list:
 *  - every standard storage SOP class lives under 1.2.840.10008.5.1.4.1.1 (images, SR, SEG,
 *    RT, encapsulated documents, raw data, retired ones too), plus a few standard storage
 *    classes outside that arc (hanging protocols, colour palettes, implant templates, RT
 *    delivery instructions), listed below;
 *  - a non-standard (private) abstract syntax is accepted as private storage: senders propose
 *    those only to store vendor objects, and any other operation on it is answered 0x0211;
 *  - every other standard UID (Query/Retrieve 1.2.840.10008.5.1.4.1.2.*, worklist, storage
 *    commitment, print, ...) is rejected with "abstract syntax not supported".
 * Transfer syntaxes: the sender's first proposal that is a standard transfer syntax (the
 * 1.2.840.10008.1.2 arc: uncompressed, deflate, big endian, JPEG, JPEG-LS, JPEG 2000, RLE, video,
 * HTJ2K, ...). We store the bytes as sent, so we never prefer one syntax to another; decoding is
 * the readers' business.
 */
import { PresentationContextResult, VERIFICATION_SOP_CLASS_UID } from './dimse-constants.ts';
import type { AcceptedPresentationContext, ProposedPresentationContext } from './pdus.ts';

const STANDARD_ROOT = '1.2.840.10008.';
const STORAGE_ARC = '1.2.840.10008.5.1.4.1.1.';
const TRANSFER_SYNTAX_ARC = '1.2.840.10008.1.2';

const STORAGE_OUTSIDE_ARC: ReadonlySet<string> = new Set([
  '1.2.840.10008.5.1.4.38.1', // Hanging Protocol Storage
  '1.2.840.10008.5.1.4.39.1', // Color Palette Storage
  '1.2.840.10008.5.1.4.43.1', // Generic Implant Template Storage
  '1.2.840.10008.5.1.4.44.1', // Implant Assembly Template Storage
  '1.2.840.10008.5.1.4.45.1', // Implant Template Group Storage
  '1.2.840.10008.5.1.4.34.7', // RT Beams Delivery Instruction Storage
  '1.2.840.10008.5.1.4.34.10', // RT Brachy Application Setup Delivery Instruction Storage
]);

const UID_PATTERN = /^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))+$/;

export type AbstractSyntaxKind = 'verification' | 'storage' | 'unsupported';

export function classifyAbstractSyntax(uid: string): AbstractSyntaxKind {
  if (uid === VERIFICATION_SOP_CLASS_UID) return 'verification';
  if (uid.startsWith(STORAGE_ARC) || STORAGE_OUTSIDE_ARC.has(uid)) return 'storage';
  if (uid.startsWith(STANDARD_ROOT)) return 'unsupported';
  return uid.length <= 64 && UID_PATTERN.test(uid) ? 'storage' : 'unsupported';
}

export function isStandardTransferSyntax(uid: string): boolean {
  return uid === TRANSFER_SYNTAX_ARC || uid.startsWith(TRANSFER_SYNTAX_ARC + '.');
}

export interface NegotiatedContext extends AcceptedPresentationContext {
  abstractSyntaxUid: string;
  kind: AbstractSyntaxKind;
}

/** Answers every proposed context; duplicates of an id already answered are rejected. */
export function negotiatePresentationContexts(proposed: readonly ProposedPresentationContext[]): NegotiatedContext[] {
  const seen = new Set<number>();
  return proposed.map((pc) => {
    const kind = classifyAbstractSyntax(pc.abstractSyntaxUid);
    const base = { id: pc.id, abstractSyntaxUid: pc.abstractSyntaxUid, kind, transferSyntaxUid: pc.transferSyntaxUids[0] ?? '' };
    if (seen.has(pc.id) || pc.id % 2 === 0) {
      return { ...base, result: PresentationContextResult.ProviderRejection };
    }
    seen.add(pc.id);
    if (kind === 'unsupported') return { ...base, result: PresentationContextResult.AbstractSyntaxNotSupported };
    const chosen = pc.transferSyntaxUids.find(isStandardTransferSyntax);
    if (chosen === undefined) return { ...base, result: PresentationContextResult.TransferSyntaxesNotSupported };
    return { ...base, transferSyntaxUid: chosen, result: PresentationContextResult.Acceptance };
  });
}
