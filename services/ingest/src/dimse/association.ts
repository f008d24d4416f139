/**
 * One association on one TCP connection: the acceptor side of the PS3.8 state machine, reduced
 * to the states an SCP that never initiates needs:
 *
 *   awaiting-rq --A-ASSOCIATE-RQ ok--> established --A-RELEASE-RQ--> releasing --(ops done)--> RP sent
 *        |                                  |                                        
 *        +--RQ refused--> rejected          +--A-ABORT / protocol error / drop / idle --> closed
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
import { createHash, randomUUID, type Hash } from 'node:crypto';
import type { Socket } from 'node:net';
import { encodeFileMetaInformation, IMPLEMENTATION_CLASS_UID, IMPLEMENTATION_VERSION_NAME } from '@cxr/dicom';
import {
  ROOT_CONTEXT, SpanKind, contextWithSpan, hasActiveSpan, recordError, runInContext, startSpan, withSpan,
  type Context, type Span,
} from '@cxr/platform';
import {
  AbortReason,
  AbortSource,
  CommandField,
  DICOM_APPLICATION_CONTEXT_NAME,
  DimseStatus,
  NO_DATA_SET,
  PduType,
  PresentationContextResult,
  RejectReason,
  RejectResult,
  RejectSource,
} from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';
import { decodeCommandSet, encodeResponse, type CommandSet } from './dimse-messages.ts';
import { PduReader, type Pdu } from './pdu-reader.ts';
import {
  decodeAssociateRq,
  decodePDataTf,
  encodeAbort,
  encodeAssociateAc,
  encodeAssociateRj,
  encodeCommandPData,
  encodeReleaseRp,
  type AssociateRq,
  type Pdv,
} from './pdus.ts';
import { negotiatePresentationContexts, type NegotiatedContext } from './presentation-policy.ts';
import { errorCommentFor, storeFailureStatus } from './store-status.ts';
import type { DimseServerOptions } from './dimse-server.ts';

/** An A-ASSOCIATE-RQ body this large is already far beyond 128 contexts with many syntaxes. */
const MAX_ASSOCIATE_RQ_LENGTH = 256 * 1024;
/** Command sets are a few hundred bytes; anything beyond this is not a command set. */
const MAX_COMMAND_SET_LENGTH = 64 * 1024;
/** How long we wait for the peer to close after our A-RELEASE-RP, A-ASSOCIATE-RJ or A-ABORT. */
const CLOSE_WAIT_MS = 2_000;

export type Admission = 'accept' | 'closing' | 'limit';

export interface AssociationHost {
  readonly options: DimseServerOptions;
  readonly idleTimeoutMs: number;
  /** Called once the RQ passed our own checks; reserves a slot when it answers 'accept'. */
  admit(association: Association): Admission;
  /** Called once, when the socket closed and handlers settled, before onAssociationEnd. */
  releaseSlot(association: Association, admitted: boolean): void;
  /** Called once, last of all (after onAssociationEnd). */
  finished(association: Association): void;
}

type State = 'awaiting-rq' | 'established' | 'releasing' | 'rejected' | 'aborting' | 'closed';

interface MessageInAssembly {
  context: NegotiatedContext;
  commandChunks: Buffer[];
  commandBytes: number;
  command?: CommandSet;
  dataChunks: Buffer[];
  dataBytes: number;
  /** Over maxInstanceBytes: the rest is read and dropped, the answer will be 0xA700. */
  oversize: boolean;
  /** For a C-STORE whose file meta information could be written: the file being received. */
  file?: FileInAssembly;
}

/**
 * The Part 10 file a C-STORE becomes, hashed as its data set arrives: the SHA-256 of the data
 * set and of the whole file (meta information + data set) are ready when the last fragment is,
 * instead of being computed over the assembled file after it (~10 ms for an 8 MB instance, while
 * the sender waits for our answer).
 */
interface FileInAssembly {
  meta: Buffer;
  dataSetHash: Hash;
  fileHash: Hash;
}

interface CompleteMessage {
  context: NegotiatedContext;
  command: CommandSet;
  dataChunks: Buffer[];
  dataBytes: number;
  oversize: boolean;
  file?: FileInAssembly;
}

export class Association {
  readonly id = randomUUID();
  private state: State = 'awaiting-rq';
  private readonly reader: PduReader;
  private readonly contexts = new Map<number, NegotiatedContext>();
  private peerMaxPduLength = 0;
  private callingAeTitle = '';
  private assembling: MessageInAssembly | undefined;
  /** Serialises operations: each complete message is answered after the previous one. */
  private operations: Promise<void> = Promise.resolve();
  private pendingOperations = 0;
  private admitted = false;
  private released = false;
  private readonly stored: string[] = [];
  private closeTimer: NodeJS.Timeout | undefined;
  private span: Span | undefined;
  private traceContext: Context | undefined;
  readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(
    private readonly socket: Socket,
    private readonly host: AssociationHost,
  ) {
    this.finished = new Promise((resolve) => (this.resolveFinished = resolve));
    this.reader = new PduReader({ maxPDataLength: host.options.maxPduLength, maxAssociateRqLength: MAX_ASSOCIATE_RQ_LENGTH });
    socket.setNoDelay(true);
    socket.setTimeout(host.idleTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('timeout', () => this.onIdle());
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // Resets by peers that drop the connection are routine; the close handler does the rest.
      this.log('warn', { associationId: this.id, code: error.code, err: error.message }, 'DIMSE socket error');
    });
    socket.on('close', () => void this.onClose());
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

  private onData(chunk: Buffer): void {
    if (this.isWindingDown()) return;
    try {
      for (const pdu of this.reader.push(chunk)) {
        this.onPdu(pdu);
        if (this.isWindingDown()) return;
      }
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
          for (const pdv of decodePDataTf(pdu.segments)) this.onPdv(pdv);
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
    const { options } = this.host;
    this.callingAeTitle = rq.callingAeTitle;
    const logContext = {
      associationId: this.id,
      callingAeTitle: rq.callingAeTitle,
      calledAeTitle: rq.calledAeTitle,
      remoteAddress: this.socket.remoteAddress,
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
    if (rq.calledAeTitle !== options.aeTitle) {
      return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CalledAeTitleNotRecognized, 'called AE title not recognized');
    }
    const allowed = options.allowedCallingAeTitles;
    if (allowed !== undefined && allowed.length > 0 && !allowed.includes(rq.callingAeTitle)) {
      return reject(RejectResult.Permanent, RejectSource.ServiceUser, RejectReason.CallingAeTitleNotRecognized, 'calling AE title not recognized');
    }
    const admission = this.host.admit(this);
    if (admission === 'closing') {
      return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.TemporaryCongestion, 'server shutting down');
    }
    if (admission === 'limit') {
      return reject(RejectResult.Transient, RejectSource.ServiceProviderPresentation, RejectReason.LocalLimitExceeded, 'local limit exceeded');
    }
    this.admitted = true;
    const negotiated = negotiatePresentationContexts(rq.presentationContexts);
    for (const pc of negotiated) if (pc.result === PresentationContextResult.Acceptance) this.contexts.set(pc.id, pc);
    this.peerMaxPduLength = rq.maxPduLength;
    this.send(
      encodeAssociateAc({
        rq,
        applicationContextName: DICOM_APPLICATION_CONTEXT_NAME,
        presentationContexts: negotiated,
        maxPduLength: options.maxPduLength,
        implementationClassUid: IMPLEMENTATION_CLASS_UID,
        implementationVersionName: IMPLEMENTATION_VERSION_NAME,
      }),
    );
    this.state = 'established';
    this.span = startSpan('dimse.association', {
      kind: SpanKind.SERVER,
      parent: ROOT_CONTEXT,
      attributes: { 'dicom.calling_ae_title': rq.callingAeTitle, 'dicom.called_ae_title': rq.calledAeTitle, 'cxr.association_id': this.id },
    });
    this.traceContext = contextWithSpan(this.span, ROOT_CONTEXT);
    this.log(
      'info',
      { ...logContext, proposedContexts: negotiated.length, acceptedContexts: this.contexts.size, peerMaxPduLength: rq.maxPduLength },
      'DIMSE association accepted',
    );
  }

  private onPdv(pdv: Pdv): void {
    const message = this.assembling;
    if (message === undefined || message.command === undefined) {
      if (!pdv.isCommand) throw new DimseProtocolError('data set fragment where a command was expected', AbortReason.UnexpectedPduParameter);
      const context = this.contexts.get(pdv.presentationContextId);
      if (context === undefined) throw new DimseProtocolError(`PDV on presentation context ${pdv.presentationContextId}, which was not accepted`);
      if (message !== undefined && message.context.id !== context.id) throw new DimseProtocolError('command fragments on two presentation contexts');
      const assembling = message ?? { context, commandChunks: [], commandBytes: 0, dataChunks: [], dataBytes: 0, oversize: false };
      this.assembling = assembling;
      assembling.commandBytes += pdv.length;
      if (assembling.commandBytes > MAX_COMMAND_SET_LENGTH) throw new DimseProtocolError('command set longer than 64 KiB');
      assembling.commandChunks.push(...pdv.data);
      if (!pdv.isLast) return;
      assembling.command = decodeCommandSet(Buffer.concat(assembling.commandChunks, assembling.commandBytes));
      assembling.commandChunks = [];
      if (assembling.command.commandDataSetType === NO_DATA_SET) this.complete(assembling);
      else assembling.file = this.fileFor(assembling.command, assembling.context);
      return;
    }
    if (pdv.isCommand) throw new DimseProtocolError('command fragment inside a data set', AbortReason.UnexpectedPduParameter);
    if (pdv.presentationContextId !== message.context.id) throw new DimseProtocolError('data set fragment on another presentation context');
    message.dataBytes += pdv.length;
    if (!message.oversize && message.dataBytes > this.host.options.maxInstanceBytes) {
      // Keep reading to stay in step with the sender, but hold nothing more.
      message.oversize = true;
      message.dataChunks = [];
      delete message.file;
    }
    if (!message.oversize) {
      // Views of the received chunks: the one copy is made when the file is assembled in store().
      for (const part of pdv.data) {
        message.dataChunks.push(part);
        message.file?.dataSetHash.update(part);
        message.file?.fileHash.update(part);
      }
    }
    if (pdv.isLast) this.complete(message);
  }

  /**
   * The file meta information for a C-STORE request, written as soon as its command set is in,
   * so that the data set can be hashed as it arrives. Undefined when there is nothing to store or
   * the UIDs cannot be written: store() then answers the request without a file.
   */
  private fileFor(command: CommandSet, context: NegotiatedContext): FileInAssembly | undefined {
    const { affectedSopClassUid, affectedSopInstanceUid } = command;
    if (command.commandField !== CommandField.CStoreRq || context.kind !== 'storage') return undefined;
    if (affectedSopClassUid !== context.abstractSyntaxUid || affectedSopInstanceUid === undefined || affectedSopInstanceUid === '') return undefined;
    let meta: Buffer;
    try {
      meta = encodeFileMetaInformation({
        mediaStorageSopClassUid: affectedSopClassUid,
        mediaStorageSopInstanceUid: affectedSopInstanceUid,
        transferSyntaxUid: context.transferSyntaxUid,
        sourceApplicationEntityTitle: this.callingAeTitle.slice(0, 16),
      });
    } catch {
      return undefined; // invalid UIDs in the command set: store() refuses the request
    }
    return { meta, dataSetHash: createHash('sha256'), fileHash: createHash('sha256').update(meta) };
  }

  private complete(message: MessageInAssembly): void {
    this.assembling = undefined;
    const complete: CompleteMessage = {
      context: message.context,
      command: message.command!,
      dataChunks: message.dataChunks,
      dataBytes: message.dataBytes,
      oversize: message.oversize,
      ...(message.file ? { file: message.file } : {}),
    };
    this.pendingOperations += 1;
    // The sender waits for our answer while we work: that is not idleness.
    this.socket.setTimeout(0);
    // A sender that does not wait (no async window was granted) is read no further until we
    // catch up, so at most one complete message waits behind the one being handled.
    if (this.pendingOperations > 1) this.socket.pause();
    this.operations = this.operations.then(async () => {
      try {
        await this.answer(complete);
      } catch (error) {
        this.log('error', { associationId: this.id, err: errorText(error) }, 'DIMSE internal error while answering, aborting');
        this.abort(AbortReason.NotSpecified);
      }
      this.pendingOperations -= 1;
      if (this.pendingOperations === 0 && this.state === 'established') {
        this.socket.resume();
        this.socket.setTimeout(this.host.idleTimeoutMs);
      }
    });
  }

  private async answer(message: CompleteMessage): Promise<void> {
    const { command, context } = message;
    const respond = (commandField: number, status: number, extra: { affectedSopInstanceUid?: string } = {}): void => {
      const response = encodeResponse({
        commandField,
        messageIdBeingRespondedTo: command.messageId ?? 0,
        status,
        affectedSopClassUid: command.affectedSopClassUid ?? context.abstractSyntaxUid,
        ...extra,
        ...(status !== DimseStatus.Success ? { errorComment: errorCommentFor(status) } : {}),
      });
      for (const pdu of encodeCommandPData(context.id, response, this.peerMaxPduLength)) this.send(pdu);
    };
    switch (command.commandField) {
      case CommandField.CEchoRq:
        respond(CommandField.CEchoRsp, context.kind === 'verification' ? DimseStatus.Success : DimseStatus.SopClassNotSupported);
        return;
      case CommandField.CStoreRq: {
        const status = await this.store(message);
        const extra = command.affectedSopInstanceUid !== undefined ? { affectedSopInstanceUid: command.affectedSopInstanceUid } : {};
        respond(CommandField.CStoreRsp, status, extra);
        return;
      }
      case CommandField.CCancelRq:
        return; // nothing of ours is cancellable: C-STORE and C-ECHO have no pending responses
      default:
        if ((command.commandField & 0x8000) !== 0) {
          this.log('warn', { associationId: this.id, commandField: command.commandField }, 'DIMSE response received by an SCP, ignored');
          return;
        }
        respond(command.commandField | 0x8000, DimseStatus.UnrecognizedOperation);
    }
  }

  /** Hands the instance to onInstance; returns the C-STORE status to send. */
  private async store(message: CompleteMessage): Promise<number> {
    const { command, context } = message;
    const sopClassUid = command.affectedSopClassUid;
    const sopInstanceUid = command.affectedSopInstanceUid;
    const base = { associationId: this.id, callingAeTitle: this.callingAeTitle, sopClassUid, transferSyntaxUid: context.transferSyntaxUid };
    if (context.kind !== 'storage' || sopClassUid !== context.abstractSyntaxUid) {
      this.log('warn', { ...base, contextAbstractSyntax: context.abstractSyntaxUid }, 'C-STORE refused: SOP class not that of its presentation context');
      return DimseStatus.SopClassNotSupported;
    }
    if (sopInstanceUid === undefined || sopInstanceUid === '' || command.commandDataSetType === NO_DATA_SET || message.dataBytes === 0) {
      this.log('warn', base, 'C-STORE refused: no SOP instance UID or no data set');
      return DimseStatus.CannotUnderstand;
    }
    if (message.oversize) {
      this.log('warn', { ...base, bytes: message.dataBytes, maxInstanceBytes: this.host.options.maxInstanceBytes }, 'C-STORE refused: instance too large');
      return DimseStatus.OutOfResources;
    }
    if (message.file === undefined) {
      // Invalid UIDs in the command set (fileFor could not write the meta information): the same
      // bytes will never be understood.
      this.log('warn', base, 'C-STORE refused: cannot write file meta information');
      return DimseStatus.CannotUnderstand;
    }
    const { meta } = message.file;
    const file = Buffer.concat([meta, ...message.dataChunks], meta.length + message.dataBytes);
    const sha256 = { file: message.file.fileHash.digest('hex'), dataSet: message.file.dataSetHash.digest('hex') };
    message.dataChunks = [];
    const attributes = { 'dicom.sop_class_uid': sopClassUid, 'dicom.transfer_syntax_uid': context.transferSyntaxUid, 'cxr.bytes': file.length };
    return withSpan('dimse.c-store', { attributes, ...(this.traceContext ? { parent: this.traceContext } : {}) }, async (span) => {
      const started = performance.now();
      try {
        await this.host.options.onInstance(file, {
          associationId: this.id,
          callingAeTitle: this.callingAeTitle,
          sopClassUid,
          sopInstanceUid,
          transferSyntaxUid: context.transferSyntaxUid,
          sha256,
        });
      } catch (error) {
        const status = storeFailureStatus(error);
        span.setAttribute('dicom.status', hex(status));
        recordError(span, error);
        this.log('warn', { ...base, sopInstanceUid, status: hex(status), err: errorText(error) }, 'C-STORE failed in onInstance');
        return status;
      }
      span.setAttribute('dicom.status', hex(DimseStatus.Success));
      this.stored.push(sopInstanceUid);
      this.log('info', { ...base, sopInstanceUid, bytes: file.length, ms: Math.round(performance.now() - started) }, 'C-STORE stored');
      return DimseStatus.Success;
    });
  }

  private onReleaseRq(): void {
    if (this.assembling !== undefined) throw new DimseProtocolError('A-RELEASE-RQ in the middle of a DIMSE message', AbortReason.UnexpectedPdu);
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

  private send(pdu: Buffer): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(pdu);
  }

  private async onClose(): Promise<void> {
    const wasReleased = this.released && this.state !== 'aborting';
    this.state = 'closed';
    this.assembling = undefined; // a partial message is never stored
    if (this.closeTimer !== undefined) clearTimeout(this.closeTimer);
    await this.operations; // handlers already running finish; their outcome counts
    this.host.releaseSlot(this, this.admitted);
    if (this.admitted) {
      this.log('info', { associationId: this.id, callingAeTitle: this.callingAeTitle, released: wasReleased, stored: this.stored.length }, 'DIMSE association ended');
      const end = () => this.host.options.onAssociationEnd({
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

  private log(level: 'info' | 'warn' | 'error', obj: object, msg: string): void {
    try {
      // Socket events run outside the association's context: give their lines its trace ids.
      const write = () => this.host.options.logger[level](obj, msg);
      if (this.traceContext && !hasActiveSpan()) runInContext(this.traceContext, write);
      else write();
    } catch {
      // A failing logger must not take the association down.
    }
  }
}

function hex(status: number): string {
  return '0x' + status.toString(16).toUpperCase().padStart(4, '0');
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : 'non-Error thrown';
}
