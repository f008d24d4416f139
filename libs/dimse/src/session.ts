import type { Context } from '@cxr/platform';

/** What a service class may know about the association it answers on. */
export interface AssociationSession {
  readonly id: string;
  readonly callingAeTitle: string;
  /** The association's trace context, once it was accepted. */
  readonly traceContext: Context | undefined;
  /** Logs with the association's trace ids; never throws. */
  log(level: 'info' | 'warn' | 'error', obj: object, msg: string): void;
}
