/** The Verification service class, SCP side (PS3.4 Annex A): C-ECHO succeeds on its own context. */
import { DimseStatus } from './dimse-constants.ts';
import type { NegotiatedContext } from './presentation-policy.ts';

export function echoStatus(context: NegotiatedContext): number {
  return context.kind === 'verification' ? DimseStatus.Success : DimseStatus.SopClassNotSupported;
}
