/**
 * The server's options, in a module of their own: the server and each association read them,
 * and neither should import the other for a type.
 */
import { DimseConfigError } from './dimse-errors.ts';
import type { AssociationEndHandler, DimseLogger, StoreHandler } from './handlers.ts';

export interface DimseServerOptions extends StoreHandler, AssociationEndHandler {
  /** Bind address, honoured as given. */
  host: string;
  /** 0 picks a free port (see the address listen() resolves to). */
  port: number;
  /** Our AE title; associations calling another title are rejected (called AE title not recognized). */
  aeTitle: string;
  /** Empty or undefined = any caller; otherwise others are rejected (calling AE title not recognized). */
  allowedCallingAeTitles?: string[];
  /** Beyond this many concurrent associations, new ones are rejected (transient, local limit exceeded). */
  maxAssociations: number;
  /** The maximum P-DATA-TF length we advertise and enforce on what we receive. */
  maxPduLength: number;
  /** Larger data sets are read, dropped and answered 0xA700; never buffered past this. */
  maxInstanceBytes: number;
  /** ARTIM and idle timeout for a connection that sends nothing (not counted while we are storing). Default 60 s. */
  idleTimeoutMs?: number;
  /** How long close() lets established associations finish before aborting them. Default 10 s. */
  closeGracePeriodMs?: number;
  logger: DimseLogger;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_CLOSE_GRACE_MS = 10_000;

export function validateServerOptions(options: DimseServerOptions): void {
  const ae = options.aeTitle;
  const forbidden = [...ae].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) > 0x7e);
  if (ae.length === 0 || ae.length > 16 || ae !== ae.trim() || forbidden) {
    throw new DimseConfigError('aeTitle must be 1-16 characters, printable ASCII without backslash, no surrounding spaces');
  }
  if (!Number.isInteger(options.maxAssociations) || options.maxAssociations < 1) throw new DimseConfigError('maxAssociations must be a positive integer');
  if (!Number.isInteger(options.maxPduLength) || options.maxPduLength < 4096 || options.maxPduLength > 0x7fffffff) {
    throw new DimseConfigError('maxPduLength must be an integer from 4096 to 2147483647');
  }
  if (!Number.isInteger(options.maxInstanceBytes) || options.maxInstanceBytes < 1) throw new DimseConfigError('maxInstanceBytes must be a positive integer');
}
