import { randomBytes } from 'node:crypto';
import type { Actor } from '@cxr/contracts';
import { errorMessage, HttpError, isPermanent, type Logger } from '@cxr/platform';
import type { SecondReadMetrics } from '../metrics.ts';
import { MllpServer, type MllpHandler, type MllpServerOptions } from './mllp-server.ts';
import { buildAck, Hl7RejectError, parseOru, readOruR01, type AckCode } from './oru-r01.ts';
import type { Hl7Message } from './hl7-message.ts';
import type { SecondReadService } from './second-read-service.ts';

/**
 * The report service's HL7 v2 listener (REPORT_HL7_PORT): ORU^R01 final reports over MLLP, each
 * answered with an ACK (oru-r01.ts says which code when). A study we do not know or a report we
 * cannot read is AE; being unable to take it now (storage, Redis, an analysis still running) is
 * AR, which a RIS resends. Logs carry the outcome and the reason, never the message text.
 */

/** Who takes reports in over HL7 in the audit trail (the RIS is not a signed-in user). */
export const HL7_ACTOR: Actor = Object.freeze({ sub: 'system:hl7-listener', name: 'HL7 ORU listener', role: 'system' });

export interface Hl7ListenerOptions extends MllpServerOptions {
  /** MSH-3 / MSH-4 of our ACKs. */
  application: string;
  facility: string;
}

export function createHl7Handler(deps: { service: SecondReadService; logger: Logger; metrics: SecondReadMetrics; options: Pick<Hl7ListenerOptions, 'application' | 'facility'>; now?: () => Date }): MllpHandler {
  const { service, logger, metrics, options } = deps;
  const now = deps.now ?? (() => new Date());
  const ack = (message: Hl7Message | null, code: AckCode, text: string) =>
    buildAck(message, code, text, { now: now(), controlId: randomBytes(8).toString('hex'), application: options.application, facility: options.facility });

  return {
    async onMessage(bytes) {
      let message: Hl7Message | null = null;
      try {
        const text = decodeHl7(bytes);
        message = parseOru(text);
        const submission = readOruR01(message);
        const result = await service.takeIn(submission, HL7_ACTOR);
        logger.info({ outcome: 'AA', duplicate: result.duplicate, discrepancies: result.discrepancies.length }, 'HL7 ORU taken in');
        return ack(message, 'AA', result.duplicate ? 'already taken in' : `compared: ${result.discrepancies.length} discrepancies`);
      } catch (error) {
        const [code, reason] = ackFor(error);
        if (error instanceof Hl7RejectError) metrics.finalReports.inc({ source: 'hl7-oru', outcome: 'refused' });
        logger.warn({ outcome: code, reason }, 'HL7 message not taken in');
        return ack(message, code, reason);
      }
    },
    onTooLarge(limit) {
      metrics.finalReports.inc({ source: 'hl7-oru', outcome: 'refused' });
      logger.warn({ outcome: 'AR', limit }, 'HL7 message refused: too large');
      return ack(null, 'AR', `message exceeds ${limit} bytes`);
    },
  };
}

/** UTF-8 when the bytes are valid UTF-8, else Latin-1 (HL7 v2's common default, MSH-18 8859/1). */
function decodeHl7(bytes: Buffer): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return bytes.toString('latin1');
  }
}

function ackFor(error: unknown): [AckCode, string] {
  if (error instanceof Hl7RejectError) return [error.ackCode, error.message];
  if (error instanceof HttpError) return [error.status >= 500 ? 'AR' : 'AE', error.message];
  // Storage or Redis down: AR, the sender keeps the message and resends.
  return [isPermanent(error) ? 'AE' : 'AR', isPermanent(error) ? errorMessage(error) : 'temporarily unavailable, resend later'];
}

export function createHl7Listener(deps: Parameters<typeof createHl7Handler>[0] & { options: Hl7ListenerOptions }): MllpServer {
  return new MllpServer(deps.options, createHl7Handler(deps));
}
