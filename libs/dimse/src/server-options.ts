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
  /** Idle timeout of an established association between messages (not counted while we are storing). Default 60 s. */
  idleTimeoutMs?: number;
  /**
   * ARTIM (PS3.8 §9.1.5): a fixed deadline from TCP accept to a complete A-ASSOCIATE-RQ; bytes do
   * not extend it. The connection is closed when it passes. Default 30 s.
   */
  artimTimeoutMs?: number;
  /**
   * Connections that have not (yet) sent an A-ASSOCIATE-RQ, at once. They take no association
   * slot; when this many are open, the oldest is dropped to make room for the new one. Default 64.
   */
  maxPendingConnections?: number;
  /** Connections (associated or not) from one peer IP address; beyond it new ones are closed at once. Default 32. */
  maxConnectionsPerPeer?: number;
  /** Associations from one peer IP address; beyond it A-ASSOCIATE-RJ (transient, local limit exceeded). Default 8. */
  maxAssociationsPerPeer?: number;
  /** Associations per calling AE title; beyond it A-ASSOCIATE-RJ (transient, local limit exceeded). Default 8. */
  maxAssociationsPerCallingAe?: number;
  /**
   * A message (or PDU) being received must bring at least this many bytes per second, measured
   * over `receiveRateWindowMs`, else the association is aborted. Not counted while we answer. Default 8 KiB/s.
   */
  minReceiveBytesPerSecond?: number;
  /** The window the receive rate is measured over. Default 10 s. */
  receiveRateWindowMs?: number;
  /** From a message's first byte to its last, at most this long, else the association is aborted. Default 10 min. */
  messageTimeoutMs?: number;
  /**
   * Memory shared by every instance being received (by this server and whoever else holds the
   * budget, e.g. STOW-RS): bytes are reserved as data set fragments arrive and released once the
   * instance's onInstance settled. When a reservation fails the instance is refused (0xA700), its
   * remaining bytes read and dropped. Without one, only `maxInstanceBytes` bounds each instance.
   */
  receiveBudget?: ReceiveBudget;
  /** How long close() lets established associations finish before aborting them. Default 10 s. */
  closeGracePeriodMs?: number;
  logger: DimseLogger;
}

/** Bytes of memory shared by receivers; see `receiveBudget`. */
export interface ReceiveBudget {
  /** Reserves n bytes; false (and nothing reserved) when that would exceed the budget. */
  tryReserve(bytes: number): boolean;
  release(bytes: number): void;
}

export const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
export const DEFAULT_ARTIM_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_PENDING_CONNECTIONS = 64;
export const DEFAULT_MAX_CONNECTIONS_PER_PEER = 32;
export const DEFAULT_MAX_ASSOCIATIONS_PER_PEER = 8;
export const DEFAULT_MAX_ASSOCIATIONS_PER_CALLING_AE = 8;
export const DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND = 8 * 1024;
export const DEFAULT_RECEIVE_RATE_WINDOW_MS = 10_000;
export const DEFAULT_MESSAGE_TIMEOUT_MS = 10 * 60_000;
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
  const positive = [
    'idleTimeoutMs', 'artimTimeoutMs', 'maxPendingConnections', 'maxConnectionsPerPeer', 'maxAssociationsPerPeer',
    'maxAssociationsPerCallingAe', 'receiveRateWindowMs', 'messageTimeoutMs', 'closeGracePeriodMs',
  ] as const;
  for (const name of positive) {
    const value = options[name];
    if (value !== undefined && (!Number.isInteger(value) || value < 1)) throw new DimseConfigError(`${name} must be a positive integer`);
  }
  const rate = options.minReceiveBytesPerSecond;
  if (rate !== undefined && (!Number.isInteger(rate) || rate < 0)) throw new DimseConfigError('minReceiveBytesPerSecond must be a non-negative integer (0 = no minimum)');
}

/** The limits an association enforces, defaults filled in. */
export interface ReceiveLimits {
  idleTimeoutMs: number;
  artimTimeoutMs: number;
  minReceiveBytesPerSecond: number;
  receiveRateWindowMs: number;
  messageTimeoutMs: number;
}

export function receiveLimitsOf(options: DimseServerOptions): ReceiveLimits {
  return {
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    artimTimeoutMs: options.artimTimeoutMs ?? DEFAULT_ARTIM_TIMEOUT_MS,
    minReceiveBytesPerSecond: options.minReceiveBytesPerSecond ?? DEFAULT_MIN_RECEIVE_BYTES_PER_SECOND,
    receiveRateWindowMs: options.receiveRateWindowMs ?? DEFAULT_RECEIVE_RATE_WINDOW_MS,
    messageTimeoutMs: options.messageTimeoutMs ?? DEFAULT_MESSAGE_TIMEOUT_MS,
  };
}
