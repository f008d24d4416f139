/**
 * One association on one TCP connection: the acceptor side of the PS3.8 state machine, reduced
 * to the states an SCP that never initiates needs:
 *
 *   awaiting-rq --A-ASSOCIATE-RQ ok--> established --A-RELEASE-RQ--> releasing --(ops done)--> RP sent
 *        |                                  |                                        
 *        +--RQ refused--> rejected          +--A-ABORT / protocol error / drop / idle --> closed
 *
 * Timers (PS3.8 §9.1.5 and ours): ARTIM, a fixed deadline from accept to a complete
 * A-ASSOCIATE-RQ that bytes do not extend; once established, the idle timeout between
 * messages; and while a PDU or message is arriving (not while we answer one), a minimum
 * receive rate over each window and a deadline per message, so data that stops progressing
 * (a drip-feed) is aborted.
 *
 * Operations are answered one at a time (we never grant an asynchronous operations window).
 * A-RELEASE-RP is sent only after every received request has been answered. The end callback
 * runs once, after the socket closed and the last onInstance settled.
 *
 * Tracing: an accepted association is one `dimse.association` span (a new trace), from the
 * A-ASSOCIATE-AC to the end callback; each C-STORE is a `dimse.c-store` child span in which
 * onInstance runs, so what it does (storing, scheduling the study's completion) joins the trace.
 * Attributes are AE titles, SOP classes, transfer syntaxes and statuses: never instance UIDs.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '@cxr/dicom';
import {
  ROOT_CONTEXT, SpanKind, contextWithSpan, hasActiveSpan, recordError, runInContext, startSpan,
  type Context, type Span,
} from '@cxr/platform';
import { CommandDispatcher, type DispatchTarget } from './command-dispatcher.ts';
import {
  AbortReason,
  AbortSource,
  DICOM_APPLICATION_CONTEXT_NAME,
  PduType,
  PresentationContextResult,
  RejectReason,
  RejectResult,
  RejectSource,
} from './dimse-constants.ts';
import { DimseProtocolError, errorText } from './dimse-errors.ts';
import type { AssociationEndHandler, CallingAeFilter, DimseLogger } from './handlers.ts';
import { MessageAssembler, type CompleteMessage } from './message-assembly.ts';
import { PduReader, type Pdu } from './pdu-reader.ts';
import {
  decodeAssociateRq,
  decodePDataTf,
  encodeAbort,
  encodeAssociateAc,
  encodeAssociateRj,
  encodeReleaseRp,
  type AssociateRq,
} from './pdus.ts';
import { negotiatePresentationContexts, type NegotiatedContext } from './presentation-policy.ts';
import type { ReceiveBudget, ReceiveLimits } from './server-options.ts';
import type { IncomingFile, StorageService } from './storage-service.ts';

/** An A-ASSOCIATE-RQ body this large is already far beyond 128 contexts with many syntaxes. */
const MAX_ASSOCIATE_RQ_LENGTH = 256 * 1024;
/** How long we wait for the peer to close after our A-RELEASE-RP, A-ASSOCIATE-RJ or A-ABORT. */
const CLOSE_WAIT_MS = 2_000;

export type Admission = 'accept' | 'closing' | 'limit' | 'peer-limit' | 'calling-ae-limit';

export interface AssociationHost {
  /** Our AE title: an RQ calling another is rejected. */
  readonly aeTitle: string;
  readonly callers: CallingAeFilter;
  readonly maxPduLength: number;
  readonly limits: ReceiveLimits;
  readonly budget: ReceiveBudget | undefined;
  readonly logger: DimseLogger;
  readonly storage: StorageService;
  readonly endHandler: AssociationEndHandler;
  /** Called once the RQ passed our own checks; reserves a slot when it answers 'accept'. */
  admit(association: Association): Admission;
  /** Called once, when the socket closed and handlers settled, before onAssociationEnd. */
  releaseSlot(association: Association, admitted: boolean): void;
  /** Called once, last of all (after onAssociationEnd). */
  finished(association: Association): void;
}

type State = 'awaiting-rq' | 'established' | 'releasing' | 'rejected' | 'aborting' | 'closed';

export class Association implements DispatchTarget {
  readonly id = randomUUID();
  /** The peer's IP address, kept: the socket forgets it once closed. */
  readonly remoteAddress: string;
  private state: State = 'awaiting-rq';
  private readonly reader: PduReader;
  private readonly contexts = new Map<number, NegotiatedContext>();
  private readonly assembler: MessageAssembler<IncomingFile>;
  private readonly dispatcher: CommandDispatcher;
  private peerMax = 0;
  private caller = '';
  /** Serialises operations: each complete message is answered after the previous one. */
  private operations: Promise<void> = Promise.resolve();
  private pendingOperations = 0;
  private admitted = false;
  private released = false;
  private readonly stored: string[] = [];
  private closeTimer: NodeJS.Timeout | undefined;
  private artimTimer: NodeJS.Timeout | undefined;
  private progressTimer: NodeJS.Timeout | undefined;
  /** Bytes received in the current rate window; whether the whole window was spent receiving. */
  private windowBytes = 0;
  private windowReceiving = false;
  /** When the PDU or message now arriving began; undefined between messages. */
  private messageStartedAt: number | undefined;
  private span: Span | undefined;
  private trace: Context | undefined;
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(
    private readonly socket: Socket,
    private readonly host: AssociationHost,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.remoteAddress = socket.remoteAddress ?? '';
    this.reader = new PduReader({ maxPDataLength: host.maxPduLength, maxAssociateRqLength: MAX_ASSOCIATE_RQ_LENGTH });
    this.assembler = new MessageAssembler({
      contexts: this.contexts,
      maxDataSetBytes: host.storage.maxInstanceBytes,
      sinkFor: (command, context) => host.storage.fileFor(command, context, this.callingAeTitle),
      ...(host.budget ? { budget: host.budget } : {}),
    });
    this.dispatcher = new CommandDispatcher(host.storage);
    socket.setNoDelay(true);
    this.artimTimer = setTimeout(() => this.onArtim(), host.limits.artimTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.onIdle());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Resets by peers that drop the connection are routine; the close handler does the rest.
      this.log('warn', { associationId: this.id, code: error.code, err: error.message }, 'DIMSE socket error');
    });
    socket.on('close', () => void this.onClose());
  }

  get callingAeTitle(): string {
    return this.caller;
  }

  get peerMaxPduLength(): number {
    return this.peerMax;
  }

  get traceContext(): Context | undefined {
    return this.trace;
  }

  get isEstablished(): boolean {
    return this.state === 'established' || this.state === 'releasing';
  }

  /** Aborts now (A-ABORT, then close), e.g. when the server's grace period is over. */
  abort(reason: number = AbortReason.NotSpecified): void {
    if (this.state === 'closed' || this.state === 'aborting' || this.state === 'rejected' || this.released) return;
    this.state = 'aborting';
    this.endWith(encodeAbort(reason, AbortSource.ServiceProvider));
  }

  /** Drops a connection that never asked for an association (server shutting down). */
  destroyIfUnassociated(): boolean {
    if (this.state !== 'awaiting-rq') return false;
    this.socket.destroy();
    return true;
  }

  /** Drops a connection holding no association slot (not yet asked, refused, or aborted before one): room is needed. */
  dropIfNotAdmitted(): void {
    if (!this.admitted) this.socket.destroy();
  }

  send(pdu: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(pdu);
  }

  log(level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
    try {
      // Socket events run outside the association's context: give their lines its trace ids.
      const write = () => this.host.logger[level](obj, msg);
      if (this.traceContext && !hasActiveSpan()) runInContext(this.traceContext, write);
      else write();
    } catch {
      // A failing logger must not take the association down.
    }
  }

  private onData(chunk: Buffer): void {
    if (this.isWindingDown()) return;
    this.windowBytes += chunk.length;
    try {
      for (const pdu of this.reader.push(chunk)) {
        this.onPdu(pdu);
        if (this.isWindingDown()) return;
      }
      this.noteProgress();
    } catch (error) {
      if (error instanceof DimseProtocolError) {
        this.log('warn', { associationId: this.id, state: this.state, err: error.message }, 'DIMSE protocol error, aborting');
        this.abort(error.abortReason);
      } else {
        // A bug of ours: never let it escape a socket handler (that would end the process).
        this.log('error', { associationId: this.id, state: this.state, err: errorText(error) }, 'DIMSE internal error, aborting');
        this.abort(AbortReason.NotSpecified);
      }
    }
  }

  /** True while a PDU or a message is partly in: the peer owes us the rest. */
  private get receiving(): boolean {
    return this.reader.bufferedBytes > 0 || this.assembler.inProgress;
  }

  private noteProgress(): void {
    if (!this.receiving) {
      this.messageStartedAt = undefined;
      this.windowReceiving = false;
    } else if (this.messageStartedAt === undefined) {
      this.messageStartedAt = Date.now();
    }
  }

  private onArtim(): void {
    this.artimTimer = undefined;
    if (this.state !== 'awaiting-rq') return;
    this.log('warn', { associationId: this.id, remoteAddress: this.remoteAddress, ms: this.host.limits.artimTimeoutMs }, 'DIMSE no A-ASSOCIATE-RQ before ARTIM expired, closing');
    this.socket.destroy();
  }

  /** Once per rate window while established: aborts a message that stopped progressing. */
  private onProgressTick(): void {
    const { minReceiveBytesPerSecond, receiveRateWindowMs, messageTimeoutMs } = this.host.limits;
    // While we answer, the sender waits for us: neither its rate nor its deadline runs.
    const counting = this.state === 'established' && this.pendingOperations === 0 && this.receiving;
    if (counting) {
      if (this.messageStartedAt !== undefined && Date.now() - this.messageStartedAt > messageTimeoutMs) {
        this.log('warn', { associationId: this.id, callingAeTitle: this.callingAeTitle, ms: messageTimeoutMs }, 'DIMSE message not complete within its deadline, aborting');
        this.abort(AbortReason.NotSpecified);
        return;
      }
      const needed = (minReceiveBytesPerSecond * receiveRateWindowMs) / 1000;
      if (this.windowReceiving && this.windowBytes < needed) {
        this.log(
          'warn',
          { associationId: this.id, callingAeTitle: this.callingAeTitle, bytes: this.windowBytes, windowMs: receiveRateWindowMs, minBytesPerSecond: minReceiveBytesPerSecond },
          'DIMSE data arriving slower than the minimum rate, aborting',
        );
        this.abort(AbortReason.NotSpecified);
        return;
      }
    } else if (this.pendingOperations > 0) {
      this.messageStartedAt = undefined;
    }
    this.windowBytes = 0;
    this.windowReceiving = counting;
  }

  /** Nothing more from the peer matters once we rejected, aborted or lost the connection. */
  private isWindingDown(): boolean {
    return this.state === 'rejected' || this.state === 'aborting' || this.state === 'closed';
  }

  private onPdu(pdu: Pdu): void {
    if (pdu.type === PduType.Abort) {
      this.log('info', { associationId: this.id, callingAeTitle: this.callingAeTitle }, 'DIMSE association aborted by peer');
      this.state = 'aborting';
      this.socket.destroy();
      return;
    }
    switch (this.state) {
      case 'awaiting-rq':
        if (pdu.type !== PduType.AssociateRq) throw new DimseProtocolError(`PDU type ${pdu.type} before association`, AbortReason.UnexpectedPdu);
        this.onAssociateRq(decodeAssociateRq(pdu.body));
        return;
      case 'established':
        if (pdu.type === PduType.PDataTf) {
          for (const pdv of decodePDataTf(pdu.segments)) {
            const message = this.assembler.push(pdv);
            if (message !== undefined) this.enqueue(message);
          }
          return;
        }
        if (pdu.type === PduType.ReleaseRq) {
          this.onReleaseRq();
          return;
        }
        throw new DimseProtocolError(`PDU type ${pdu.type} on an established association`, AbortReason.UnexpectedPdu);
      default:
        throw new DimseProtocolError(`PDU type ${pdu.type} while ${this.state}`, AbortReason.UnexpectedPdu);
    }
  }

  private onAssociateRq(rq: AssociateRq): void {
    const { host } = this;
    if (this.artimTimer !== undefined) clearTimeout(this.artimTimer);
    this.artimTimer = undefined;
    this.caller = rq.callingAeTitle;
    const logContext = {
      associationId: this.id,
      callingAeTitle: rq.callingAeTitle,
      calledAeTitle: rq.calledAeTitle,
      remoteAddress: this.remoteAddress,
    };
    const reject = (result: number, source: number, reason: number, why: string): void => {
      this.log('warn', { ...logContext, why }, 'DIMSE association rejected');
      this.state = 'rejected';
      this.endWith(encodeAssociateRj(result, source, reason));
    };
    if ((rq.protocolVersion & 0x0001) === 0) {
      return reject(RejectResult.Permanent, RejectSource.ServiceProviderAcse, RejectReason.ProtocolVersionNotSupported, 'protocol version not supported');
    }
    if (rq.applicationContextName !== DICOM_APPLICATION_CONTEXT_NAME) {
      return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.ApplicationContextNameNotSupported, 'application context name not supported');
    }
    if (rq.calledAeTitle !== host.aeTitle) {
      return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeTitleNotRecognized, 'called AE title not recognized');
    }
    if (!host.callers.acceptsCaller(rq.callingAeTitle)) {
      return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeTitleNotRecognized, 'calling AE title not recognized');
    }
    const admission = host.admit(this);
    if (admission === 'closing') {
      return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.TemporaryCongestion, 'server shutting down');
    }
    if (admission === 'limit') {
      return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded, 'local limit exceeded');
    }
    if (admission === 'peer-limit') {
      return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded, 'local limit exceeded: associations from this address');
    }
    if (admission === 'calling-ae-limit') {
      return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded, 'local limit exceeded: associations from this calling AE title');
    }
    this.admitted = true;
    const negotiated = negotiatePresentationContexts(rq.presentationContexts);
    for (const pc of negotiated) if (pc.result === PresentationContextResult.Acceptance) this.contexts.set(pc.id, pc);
    this.peerMax = rq.maxPduLength;
    this.send(
      encodeAssociateAc({
        rq,
        applicationContextName: DICOM_APPLICATION_CONTEXT_NAME,
        presentationContexts: negotiated,
        maxPduLength: host.maxPduLength,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      }),
    );
    this.state = 'established';
    this.socket.setTimeout(host.limits.idleTimeoutMs);
    this.progressTimer = setInterval(() => this.onProgressTick(), host.limits.receiveRateWindowMs);
    this.progressTimer.unref();
    this.span = startSpan('dimse.association', {
      kind: SpanKind.SERVER,
      parent: ROOT_CONTEXT,
      attributes: { 'dicom.calling_ae_title': rq.callingAeTitle, 'dicom.called_ae_title': rq.calledAeTitle, 'cxr.association_id': this.id },
    });
    this.trace = contextWithSpan(this.span, ROOT_CONTEXT);
    this.log(
      'info',
      { ...logContext, proposedContexts: negotiated.length, acceptedContexts: this.contexts.size, peerMaxPduLength: rq.maxPduLength },
      'DIMSE association accepted',
    );
  }

  /** Queues a complete message behind the one being answered. */
  private enqueue(message: CompleteMessage<IncomingFile>): void {
    this.pendingOperations += 1;
    // The sender waits for our answer while we work: that is not idleness, nor a slow sender.
    this.socket.setTimeout(0);
    this.windowReceiving = false;
    // A sender that does not wait (no async window was granted) is read no further until we
    // catch up, so at most one complete message waits behind the one being handled.
    if (this.pendingOperations > 1) this.socket.pause();
    this.operations = this.operations.then(async () => {
      try {
        const stored = await this.dispatcher.dispatch(message, this);
        if (stored !== undefined) this.stored.push(stored);
      } catch (error) {
        this.log('error', { associationId: this.id, err: errorText(error) }, 'DIMSE internal error while answering, aborting');
        this.abort(AbortReason.NotSpecified);
      } finally {
        this.assembler.releaseMessage(message);
      }
      this.pendingOperations -= 1;
      if (this.pendingOperations === 0 && this.state === 'established') {
        this.socket.resume();
        this.socket.setTimeout(this.host.limits.idleTimeoutMs);
      }
    });
  }

  private onReleaseRq(): void {
    if (this.assembler.inProgress) throw new DimseProtocolError('A-RELEASE-RQ in the middle of a DIMSE message', AbortReason.UnexpectedPdu);
    this.state = 'releasing';
    this.socket.setTimeout(0);
    this.operations = this.operations.then(() => {
      if (this.state !== 'releasing' || this.socket.destroyed) return;
      this.released = true;
      this.endWith(encodeReleaseRp());
    });
  }

  private onIdle(): void {
    this.log('warn', { associationId: this.id, state: this.state }, 'DIMSE connection idle, closing');
    if (this.isEstablished) this.abort(AbortReason.NotSpecified);
    else this.socket.destroy();
  }

  /** Writes a last PDU, half-closes, and destroys if the peer does not close in time. */
  private endWith(pdu: Buffer): void {
    if (this.socket.destroyed) return;
    this.socket.end(pdu);
    this.socket.setTimeout(0);
    this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_WAIT_MS);
    this.closeTimer.unref();
  }

  private async onClose(): Promise<void> {
    const wasReleased = this.released && this.state !== 'aborting';
    this.state = 'closed';
    this.assembler.discard(); // a partial message is never stored
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    if (this.artimTimer !== undefined) clearTimeout(this.artimTimer);
    if (this.progressTimer !== undefined) clearInterval(this.progressTimer);
    await this.operations; // handlers already running finish; their outcome counts
    this.host.releaseSlot(this, this.admitted);
    if (this.admitted) {
      this.log('info', { associationId: this.id, callingAeTitle: this.callingAeTitle, released: wasReleased, stored: this.stored.length }, 'DIMSE association ended');
      const end = () => this.host.endHandler.onAssociationEnd({
        associationId: this.id,
        callingAeTitle: this.callingAeTitle,
        released: wasReleased,
        storedSopInstanceUids: [...this.stored],
      });
      try {
        await (this.traceContext ? runInContext(this.traceContext, end) : end());
      } catch (error) {
        if (this.span) recordError(this.span, error);
        this.log('error', { associationId: this.id, err: errorText(error) }, 'onAssociationEnd failed');
      }
      this.span?.setAttributes({ 'dicom.released': wasReleased, 'cxr.instances_stored': this.stored.length });
      this.span?.end();
    }
    this.host.finished(this);
    this.resolveFinished();
  }
}
