import { createHash } from 'node:crypto';

/**
 * The key an Accession Number travels and is indexed by between ingest and the report service: a
 * SHA-256 of it, so no queue job, Redis value or stored state holds accession numbers in clear.
 * Not a pseudonym against someone who can guess them (accession numbers are short and often
 * sequential); it keeps them out of listings and dumps, and the report service, which matches final
 * reports to studies by it, holds the study's identifiers anyway.
 */
export function accessionKeyOf(accessionNumber: string): string {
  return createHash('sha256').update(`accession:${accessionNumber.trim()}`).digest('hex');
}

export const ACCESSION_KEY_PATTERN = /^[a-f0-9]{64}$/;
