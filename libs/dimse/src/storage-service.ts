/**
 * The Storage service class, SCP side (PS3.4 Annex B): a C-STORE request becomes a Part 10 file
 * whose data set is exactly the bytes received, handed to the application's StoreHandler; its
 * outcome becomes the C-STORE status.
 *
 * The file meta information is written as soon as the command set is in, and the file and its
 * data set are hashed fragment by fragment as they arrive: the SHA-256s are ready when the last
 * fragment is, instead of being computed over the assembled file after it (~10 ms for an 8 MB
 * instance, while the sender waits for our answer).
 *
 * The data set is checked against the command and the negotiated syntax (data-set-check.ts):
 * its first bytes as they arrive (a refused data set is then read on but no longer held), and
 * the whole of it before it is handed over. The file meta information comes only from the
 * command's UIDs and the negotiated transfer syntax, never from the data set.
 */
import { createHash, type Hash } from 'node:crypto';
import { encodeFileMetaInformation } from '@cxr/dicom';
import { recordError, withSpan } from '@cxr/platform';
import { HEAD_BYTES, checkDataSet, checkDataSetHead, type DataSetRefusal, type ExpectedUids } from './data-set-check.ts';
import { CommandField, DimseStatus, NO_DATA_SET } from './dimse-constants.ts';
import { errorText } from './dimse-errors.ts';
import type { CommandSet } from './dimse-messages.ts';
import type { RefusalContext, StoreHandler } from './handlers.ts';
import { BUDGET_REFUSAL, type CompleteMessage, type DataSetSink } from './message-assembly.ts';
import type { NegotiatedContext } from './presentation-policy.ts';
import type { AssociationSession } from './session.ts';
import { storeFailureStatus } from './store-status.ts';

/** The Part 10 file a C-STORE becomes, hashed as its data set arrives. */
export class IncomingFile implements DataSetSink {
  readonly dataSetHash: Hash = createHash('sha256');
  readonly fileHash: Hash;
  private head: Buffer[] = [];
  private headBytes = 0;
  /** The head is checked again each time it doubles: 1-byte fragments cannot make that quadratic. */
  private nextCheckAt = 256;
  /** undefined = not decided yet; 'ok' or a refusal once the first bytes told. */
  private early: DataSetRefusal | 'ok' | 'undecided' | undefined;

  constructor(
    readonly meta: Buffer,
    private readonly transferSyntaxUid: string,
    private readonly expected: ExpectedUids,
  ) {
    this.fileHash = createHash('sha256').update(meta);
  }

  update(fragment: Buffer): void {
    this.dataSetHash.update(fragment);
    this.fileHash.update(fragment);
    if (this.early !== undefined || this.headBytes >= HEAD_BYTES) return;
    const part = fragment.subarray(0, HEAD_BYTES - this.headBytes);
    this.head.push(part);
    this.headBytes += part.length;
    if (this.headBytes < Math.min(this.nextCheckAt, HEAD_BYTES)) return;
    this.nextCheckAt = this.headBytes * 2;
    const verdict = checkDataSetHead(Buffer.concat(this.head, this.headBytes), this.transferSyntaxUid, this.expected, false);
    if (verdict !== undefined) this.early = verdict;
    else if (this.headBytes >= HEAD_BYTES) this.early = 'undecided';
    if (this.early !== undefined) this.head = [];
  }

  refusal(): DataSetRefusal | undefined {
    return typeof this.early === 'object' ? this.early : undefined;
  }
}

/** The C-STORE status to send, with an Error Comment when there is something to say. */
export interface StoreOutcome {
  status: number;
  errorComment?: string;
}

export class StorageService {
  constructor(
    private readonly handler: StoreHandler,
    readonly maxInstanceBytes: number,
  ) {}

  /**
   * The file for a C-STORE request, started as soon as its command set is in. Undefined when
   * there is nothing to store or the UIDs cannot be written: store() then answers the request
   * without a file.
   */
  fileFor(command: CommandSet, context: NegotiatedContext, callingAeTitle: string): IncomingFile | undefined {
    const { affectedSopClassUid, affectedSopInstanceUid } = command;
    if (command.commandField !== CommandField.CStoreRq || context.kind !== 'storage') return undefined;
    if (affectedSopClassUid !== context.abstractSyntaxUid || affectedSopInstanceUid === undefined || affectedSopInstanceUid === '') return undefined;
    try {
      return new IncomingFile(
        encodeFileMetaInformation({
          mediaStorageSopClassUid: affectedSopClassUid,
          mediaStorageSopInstanceUid: affectedSopInstanceUid,
          transferSyntaxUid: context.transferSyntaxUid,
          sourceApplicationEntityTitle: callingAeTitle.slice(0, 16),
        }),
        context.transferSyntaxUid,
        { sopClassUid: affectedSopClassUid, sopInstanceUid: affectedSopInstanceUid },
      );
    } catch {
      return undefined; // invalid UIDs in the command set: store() refuses the request
    }
  }

  private tell(session: AssociationSession, status: number, reason: RefusalContext['reason']): void {
    try {
      this.handler.onRefused?.({ associationId: session.id, callingAeTitle: session.callingAeTitle, status, reason });
    } catch {
      // Metrics must not change the answer.
    }
  }

  /** Hands the instance to the StoreHandler; returns the C-STORE status to send. */
  async store(message: CompleteMessage<IncomingFile>, session: AssociationSession): Promise<StoreOutcome> {
    const { command, context } = message;
    const sopClassUid = command.affectedSopClassUid;
    const sopInstanceUid = command.affectedSopInstanceUid;
    const base = { associationId: session.id, callingAeTitle: session.callingAeTitle, sopClassUid, transferSyntaxUid: context.transferSyntaxUid };
    if (context.kind !== 'storage' || sopClassUid !== context.abstractSyntaxUid) {
      session.log('warn', { ...base, contextAbstractSyntax: context.abstractSyntaxUid }, 'C-STORE refused: SOP class not that of its presentation context');
      return { status: DimseStatus.SopClassNotSupported };
    }
    if (sopInstanceUid === undefined || sopInstanceUid === '' || command.commandDataSetType === NO_DATA_SET || message.dataBytes === 0) {
      session.log('warn', base, 'C-STORE refused: no SOP instance UID or no data set');
      return { status: DimseStatus.CannotUnderstand };
    }
    if (message.refusal !== undefined) {
      const why = message.oversize ? { maxInstanceBytes: this.maxInstanceBytes } : {};
      session.log('warn', { ...base, sopInstanceUid, bytes: message.dataBytes, status: statusHex(message.refusal.status), reason: message.refusal.errorComment, ...why }, 'C-STORE refused');
      this.tell(session, message.refusal.status, message.oversize ? 'too-large' : message.refusal === BUDGET_REFUSAL ? 'memory' : 'data-set');
      return message.refusal;
    }
    if (message.sink === undefined) {
      // Invalid UIDs in the command set (fileFor could not write the meta information): the same
      // bytes will never be understood.
      session.log('warn', base, 'C-STORE refused: cannot write file meta information');
      return { status: DimseStatus.CannotUnderstand };
    }
    const { meta } = message.sink;
    const file = Buffer.concat([meta, ...message.dataChunks], meta.length + message.dataBytes);
    message.dataChunks = [];
    const refusal = checkDataSet(file.subarray(meta.length), context.transferSyntaxUid, { sopClassUid, sopInstanceUid });
    if (refusal !== undefined) {
      session.log('warn', { ...base, sopInstanceUid, bytes: message.dataBytes, status: statusHex(refusal.status), reason: refusal.errorComment }, 'C-STORE refused');
      this.tell(session, refusal.status, 'data-set');
      return refusal;
    }
    const sha256 = { file: message.sink.fileHash.digest('hex'), dataSet: message.sink.dataSetHash.digest('hex') };
    const attributes = { 'dicom.sop_class_uid': sopClassUid, 'dicom.transfer_syntax_uid': context.transferSyntaxUid, 'cxr.bytes': file.length };
    const parent = session.traceContext ? { parent: session.traceContext } : {};
    return withSpan('dimse.c-store', { attributes, ...parent }, async (span) => {
      const started = performance.now();
      try {
        await this.handler.onInstance(file, {
          associationId: session.id,
          callingAeTitle: session.callingAeTitle,
          sopClassUid,
          sopInstanceUid,
          transferSyntaxUid: context.transferSyntaxUid,
          sha256,
        });
      } catch (error) {
        const status = storeFailureStatus(error);
        span.setAttribute('dicom.status', statusHex(status));
        recordError(span, error);
        session.log('warn', { ...base, sopInstanceUid, status: statusHex(status), err: errorText(error) }, 'C-STORE failed in onInstance');
        return { status };
      }
      span.setAttribute('dicom.status', statusHex(DimseStatus.Success));
      session.log('info', { ...base, sopInstanceUid, bytes: file.length, ms: Math.round(performance.now() - started) }, 'C-STORE stored');
      return { status: DimseStatus.Success };
    });
  }
}

function statusHex(status: number): string {
  return '0x' + status.toString(16).toUpperCase().padStart(4, '0');
}
