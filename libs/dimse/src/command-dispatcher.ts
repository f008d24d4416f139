/**
 * Routes each complete DIMSE request to its service class and sends the response (the
 * dispatcher apart from the service classes, as in Orthanc's DicomNetworking): C-ECHO to
 * Verification, C-STORE to Storage; C-CANCEL is ignored (nothing of ours has pending
 * responses); any other request is answered 0x0211, unrecognized operation.
 */
import { CommandField, DimseStatus } from './dimse-constants.ts';
import { encodeResponse } from './dimse-messages.ts';
import type { CompleteMessage } from './message-assembly.ts';
import { encodeCommandPData } from './pdus.ts';
import type { AssociationSession } from './session.ts';
import { errorCommentFor } from './store-status.ts';
import type { IncomingFile, StorageService } from './storage-service.ts';
import { echoStatus } from './verification-service.ts';

export interface DispatchTarget extends AssociationSession {
  /** The peer's maximum P-DATA-TF length, from its A-ASSOCIATE-RQ. */
  readonly peerMaxPduLength: number;
  send(pdu: Buffer): void;
}

export class CommandDispatcher {
  constructor(private readonly storage: StorageService) {}

  /** Answers one request; resolves to the SOP instance UID when an instance was stored. */
  async dispatch(message: CompleteMessage<IncomingFile>, target: DispatchTarget): Promise<string | undefined> {
    const { command, context } = message;
    const respond = (commandField: number, status: number, extra: { affectedSopInstanceUid?: string } = {}, errorComment?: string): void => {
      const response = encodeResponse({
        commandField,
        messageIdBeingRespondedTo: command.messageId ?? 0,
        status,
        affectedSopClassUid: command.affectedSopClassUid ?? context.abstractSyntaxUid,
        ...extra,
        ...(status !== DimseStatus.Success ? { errorComment: errorComment ?? errorCommentFor(status) } : {}),
      });
      for (const pdu of encodeCommandPData(context.id, response, target.peerMaxPduLength)) target.send(pdu);
    };
    switch (command.commandField) {
      case CommandField.CEchoRq:
        respond(CommandField.CEchoRsp, echoStatus(context));
        return undefined;
      case CommandField.CStoreRq: {
        const { status, errorComment } = await this.storage.store(message, target);
        const instanceUid = command.affectedSopInstanceUid;
        respond(CommandField.CStoreRsp, status, instanceUid !== undefined ? { affectedSopInstanceUid: instanceUid } : {}, errorComment);
        return status === DimseStatus.Success ? instanceUid : undefined;
      }
      case CommandField.CCancelRq:
        return undefined;
      default:
        if ((command.commandField & 0x8000) !== 0) {
          target.log('warn', { associationId: target.id, commandField: command.commandField }, 'DIMSE response received by an SCP, ignored');
          return undefined;
        }
        respond(command.commandField | 0x8000, DimseStatus.UnrecognizedOperation);
        return undefined;
    }
  }
}
