import { createHash } from 'node:crypto';

/**
 * The key an accession number is indexed by: a SHA-256 of it, so a listing of Redis keys or the
 * stored state shows no accession numbers. Not a pseudonym against someone who can guess them
 * (accession numbers are short), which is why it stays inside the report service, which holds the
 * study's identifiers anyway (it serves the radiologist and exports to the PACS).
 */
export function accessionKeyOf(accessionNumber: string): string {
  return createHash('sha256').update(`accession:${accessionNumber.trim()}`).digest('hex');
}
