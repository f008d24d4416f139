/**
 * DIMSE message assembly (PS3.8 §9.3.5, PS3.7 §6.3.1): P-DATA-TF value items (PDVs) become
 * complete messages, a command set and, when it announces one, a data set.
 *
 * Memory stays bounded: a command set over 64 KiB is a protocol error, and a data set over
 * `maxDataSetBytes` is read on (to stay in step with the sender) but no longer held; the
 * message is still completed, marked oversize, so the service class can answer it.
 * Data set fragments are kept as views of the received chunks: the one copy is made by whoever
 * assembles the result (the storage service, into the Part 10 file). Once a command set is in,
 * `sinkFor` may return a sink that sees each data set fragment as it arrives (the storage
 * service hashes the file that way), and may refuse the data set early (`refusal()`): it is then
 * read on but no longer held, like an oversize one.
 *
 * With a `budget`, every data set byte held is reserved in it first; when a reservation fails
 * the message is refused (0xA700) at once, what it held is released, and the rest is dropped.
 * A completed message carries its reservation (`reservedBytes`): whoever handles it releases it
 * (`releaseMessage`); a discarded one is released here.
 */
import type { DataSetRefusal } from './data-set-check.ts';
import { AbortReason, DimseStatus, NO_DATA_SET } from './dimse-constants.ts';
import { DimseProtocolError } from './dimse-errors.ts';
import { decodeCommandSet, type CommandSet } from './dimse-messages.ts';
import type { Pdv } from './pdus.ts';
import type { NegotiatedContext } from './presentation-policy.ts';
import type { ReceiveBudget } from './server-options.ts';

/** Command sets are a few hundred bytes; anything beyond this is not a command set. */
export const MAX_COMMAND_SET_LENGTH = 64 * 1024;

/** Sees each data set fragment of one message as it arrives. */
export interface DataSetSink {
  update(fragment: Buffer): void;
  /** Asked after each update: a refusal stops the data set being held (it is read on and dropped). */
  refusal?(): DataSetRefusal | undefined;
}

export const OVERSIZE_REFUSAL: DataSetRefusal = { status: DimseStatus.OutOfResources, errorComment: 'Out of resources: instance larger than our maximum' };
export const BUDGET_REFUSAL: DataSetRefusal = { status: DimseStatus.OutOfResources, errorComment: 'Out of resources: receive memory full, retry later' };

export interface CompleteMessage<S extends DataSetSink = DataSetSink> {
  context: NegotiatedContext;
  command: CommandSet;
  dataChunks: Buffer[];
  dataBytes: number;
  /** Over maxDataSetBytes: the data set was read and dropped. */
  oversize: boolean;
  /** Refused while it arrived (oversize, budget, the sink's check): read and dropped; answer with this. */
  refusal?: DataSetRefusal;
  /** Bytes reserved in the budget for this message's data set; released by `releaseMessage`. */
  reservedBytes: number;
  /** The sink `sinkFor` returned, unless the message was refused. */
  sink?: S;
}

interface MessageInAssembly<S extends DataSetSink> {
  context: NegotiatedContext;
  commandChunks: Buffer[];
  commandBytes: number;
  command?: CommandSet;
  dataChunks: Buffer[];
  dataBytes: number;
  oversize: boolean;
  refusal?: DataSetRefusal;
  reservedBytes: number;
  sink?: S;
}

export interface MessageAssemblerOptions<S extends DataSetSink> {
  /** The accepted presentation contexts by id (filled in once the association is accepted). */
  contexts: ReadonlyMap<number, NegotiatedContext>;
  maxDataSetBytes: number;
  /** Called once a command set announcing a data set is in. */
  sinkFor(command: CommandSet, context: NegotiatedContext): S | undefined;
  /** Memory shared with other receivers; data set bytes are reserved in it before being held. */
  budget?: ReceiveBudget;
}

export class MessageAssembler<S extends DataSetSink = DataSetSink> {
  private assembling: MessageInAssembly<S> | undefined;

  constructor(private readonly options: MessageAssemblerOptions<S>) {}

  /** True between the first fragment of a message and its last. */
  get inProgress(): boolean {
    return this.assembling !== undefined;
  }

  /** Drops a partly received message (the connection is gone: it is never handed over). */
  discard(): void {
    if (this.assembling) this.releaseHeld(this.assembling);
    this.assembling = undefined;
  }

  /** Releases what a completed message reserved (once it was handled). */
  releaseMessage(message: CompleteMessage<S>): void {
    if (message.reservedBytes > 0) this.options.budget?.release(message.reservedBytes);
    message.reservedBytes = 0;
    message.dataChunks = [];
  }

  private releaseHeld(message: MessageInAssembly<S>): void {
    if (message.reservedBytes > 0) this.options.budget?.release(message.reservedBytes);
    message.reservedBytes = 0;
    message.dataChunks = [];
  }

  private refuse(message: MessageInAssembly<S>, refusal: DataSetRefusal): void {
    // Keep reading to stay in step with the sender, but hold nothing more.
    message.refusal = refusal;
    this.releaseHeld(message);
    delete message.sink;
  }

  /** Takes one PDV; returns the message it completed, if it did. Throws DimseProtocolError. */
  push(pdv: Pdv): CompleteMessage<S> | undefined {
    const message = this.assembling;
    if (message === undefined || message.command === undefined) return this.pushCommand(pdv, message);
    if (pdv.isCommand) throw new DimseProtocolError('command fragment inside a data set', AbortReason.UnexpectedPduParameter);
    if (pdv.presentationContextId !== message.context.id) throw new DimseProtocolError('data set fragment on another presentation context');
    message.dataBytes += pdv.length;
    if (message.refusal === undefined && message.dataBytes > this.options.maxDataSetBytes) {
      message.oversize = true;
      this.refuse(message, OVERSIZE_REFUSAL);
    }
    if (message.refusal === undefined && pdv.length > 0) {
      if (this.options.budget && !this.options.budget.tryReserve(pdv.length)) this.refuse(message, BUDGET_REFUSAL);
      else message.reservedBytes += this.options.budget ? pdv.length : 0;
    }
    if (message.refusal === undefined) {
      for (const part of pdv.data) {
        message.dataChunks.push(part);
        message.sink?.update(part);
      }
      const refusal = message.sink?.refusal?.();
      if (refusal !== undefined) this.refuse(message, refusal);
    }
    return pdv.isLast ? this.complete(message) : undefined;
  }

  private pushCommand(pdv: Pdv, message: MessageInAssembly<S> | undefined): CompleteMessage<S> | undefined {
    if (!pdv.isCommand) throw new DimseProtocolError('data set fragment where a command was expected', AbortReason.UnexpectedPduParameter);
    const context = this.options.contexts.get(pdv.presentationContextId);
    if (context === undefined) throw new DimseProtocolError(`PDV on presentation context ${pdv.presentationContextId}, which was not accepted`);
    if (message !== undefined && message.context.id !== context.id) throw new DimseProtocolError('command fragments on two presentation contexts');
    const assembling: MessageInAssembly<S> = message ?? { context, commandChunks: [], commandBytes: 0, dataChunks: [], dataBytes: 0, oversize: false, reservedBytes: 0 };
    this.assembling = assembling;
    assembling.commandBytes += pdv.length;
    if (assembling.commandBytes > MAX_COMMAND_SET_LENGTH) throw new DimseProtocolError('command set longer than 64 KiB');
    assembling.commandChunks.push(...pdv.data);
    if (!pdv.isLast) return undefined;
    const command = decodeCommandSet(Buffer.concat(assembling.commandChunks, assembling.commandBytes));
    assembling.command = command;
    assembling.commandChunks = [];
    if (command.commandDataSetType === NO_DATA_SET) return this.complete(assembling);
    const sink = this.options.sinkFor(command, assembling.context);
    if (sink !== undefined) assembling.sink = sink;
    return undefined;
  }

  private complete(message: MessageInAssembly<S>): CompleteMessage<S> {
    this.assembling = undefined;
    return {
      context: message.context,
      command: message.command!,
      dataChunks: message.dataChunks,
      dataBytes: message.dataBytes,
      oversize: message.oversize,
      reservedBytes: message.reservedBytes,
      ...(message.refusal ? { refusal: message.refusal } : {}),
      ...(message.sink ? { sink: message.sink } : {}),
    };
  }
}
