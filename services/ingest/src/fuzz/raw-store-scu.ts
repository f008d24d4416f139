/**
 * A minimal C-STORE SCU written from PS3.7/PS3.8 for the fuzz run: it sends any bytes as a data set
 * (DCMTK's senders parse a file before sending it, so they cannot send a broken one). One
 * association, one operation at a time; an A-ABORT or a closed connection ends it, and the caller
 * opens another. Not for production use: no extended negotiation, no async window.
 */
import { connect, type Socket } from 'node:net';

const APPLICATION_CONTEXT = '1.2.840.10008.3.1.1.1';
const IMPLEMENTATION_CLASS_UID = '1.2.826.0.1.3680043.10.1.99';

export interface ProposedContext {
  abstractSyntax: string;
  transferSyntax: string;
}

export class AssociationEndedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssociationEndedError';
  }
}

function uidBytes(uid: string): Buffer {
  const b = Buffer.from(uid, 'latin1');
  return b.length % 2 === 0 ? b : Buffer.concat([b, Buffer.from([0])]);
}

function item(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head[0] = type;
  head.writeUInt16BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function pdu(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head[0] = type;
  head.writeUInt32BE(body.length, 2);
  return Buffer.concat([head, body]);
}

function aeTitle(title: string): Buffer {
  return Buffer.from(title.padEnd(16, ' ').slice(0, 16), 'latin1');
}

function associateRq(called: string, calling: string, contexts: ProposedContext[], maxPdu: number): Buffer {
  const fixed = Buffer.alloc(68);
  fixed.writeUInt16BE(1, 0); // protocol version
  aeTitle(called).copy(fixed, 4);
  aeTitle(calling).copy(fixed, 20);
  const items: Buffer[] = [item(0x10, Buffer.from(APPLICATION_CONTEXT, 'latin1'))];
  contexts.forEach((c, i) => {
    const head = Buffer.from([1 + 2 * i, 0, 0, 0]);
    items.push(item(0x20, Buffer.concat([head, item(0x30, Buffer.from(c.abstractSyntax, 'latin1')), item(0x40, Buffer.from(c.transferSyntax, 'latin1'))])));
  });
  const max = Buffer.alloc(4);
  max.writeUInt32BE(maxPdu);
  items.push(item(0x50, Buffer.concat([item(0x51, max), item(0x52, Buffer.from(IMPLEMENTATION_CLASS_UID, 'latin1'))])));
  return pdu(0x01, Buffer.concat([fixed, ...items]));
}

/** An implicit VR little endian command set with its group length. */
function commandSet(elements: [number, Buffer][]): Buffer {
  const parts: Buffer[] = [];
  for (const [element, value] of elements) {
    const head = Buffer.alloc(8);
    head.writeUInt16LE(0x0000, 0);
    head.writeUInt16LE(element, 2);
    head.writeUInt32LE(value.length, 4);
    parts.push(head, value);
  }
  const body = Buffer.concat(parts);
  const length = Buffer.alloc(12);
  length.writeUInt32LE(0x00000000, 0);
  length.writeUInt32LE(4, 4);
  length.writeUInt32LE(body.length, 8);
  return Buffer.concat([length, body]);
}

function us(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(value);
  return b;
}

function pData(contextId: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(6);
  head.writeUInt32BE(data.length + 2, 0);
  head[4] = contextId;
  head[5] = flags;
  return pdu(0x04, Buffer.concat([head, data]));
}

/** (0000,0900) Status from a command set's bytes. */
function statusOf(command: Buffer): number | undefined {
  for (let at = 0; at + 8 <= command.length;) {
    const element = command.readUInt16LE(at + 2);
    const length = command.readUInt32LE(at + 4);
    if (element === 0x0900 && length === 2) return command.readUInt16LE(at + 8);
    at += 8 + length;
  }
  return undefined;
}

export class RawStoreScu {
  private buffer: Buffer = Buffer.alloc(0);
  private waiting: ((pdu: { type: number; body: Buffer } | Error) => void) | undefined;
  private pending: ({ type: number; body: Buffer } | Error)[] = [];
  private messageId = 0;
  private peerMaxPdu = 16384;
  /** Accepted presentation context id by "abstract|transfer". */
  readonly accepted = new Map<string, number>();

  private constructor(private readonly socket: Socket, private readonly timeoutMs: number) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error) => this.push(error));
    socket.on('close', () => this.push(new AssociationEndedError('connection closed')));
  }

  static async associate(target: { host: string; port: number; calledAeTitle: string; callingAeTitle: string }, contexts: ProposedContext[], timeoutMs = 30_000): Promise<RawStoreScu> {
    const socket = connect(target.port, target.host);
    socket.setNoDelay(true);
    const scu = new RawStoreScu(socket, timeoutMs);
    socket.write(associateRq(target.calledAeTitle, target.callingAeTitle, contexts, 65536));
    const answer = await scu.next();
    if (answer.type !== 0x02) {
      socket.destroy();
      throw new AssociationEndedError(`association not accepted (PDU type ${answer.type})`);
    }
    scu.readAccept(answer.body, contexts);
    return scu;
  }

  private readAccept(body: Buffer, contexts: ProposedContext[]): void {
    for (let at = 68; at + 4 <= body.length;) {
      const type = body[at]!;
      const length = body.readUInt16BE(at + 2);
      const value = body.subarray(at + 4, at + 4 + length);
      if (type === 0x21 && value[2] === 0) {
        const id = value[0]!;
        const proposed = contexts[(id - 1) / 2];
        if (proposed) this.accepted.set(`${proposed.abstractSyntax}|${proposed.transferSyntax}`, id);
      } else if (type === 0x50) {
        for (let sub = 0; sub + 4 <= value.length;) {
          const subLength = value.readUInt16BE(sub + 2);
          if (value[sub] === 0x51 && subLength === 4) this.peerMaxPdu = value.readUInt32BE(sub + 4) || this.peerMaxPdu;
          sub += 4 + subLength;
        }
      }
      at += 4 + length;
    }
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    while (this.buffer.length >= 6) {
      const length = this.buffer.readUInt32BE(2);
      if (this.buffer.length < 6 + length) break;
      this.push({ type: this.buffer[0]!, body: this.buffer.subarray(6, 6 + length) });
      this.buffer = this.buffer.subarray(6 + length);
    }
  }

  private push(value: { type: number; body: Buffer } | Error): void {
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      waiting(value);
    } else {
      this.pending.push(value);
    }
  }

  private next(): Promise<{ type: number; body: Buffer }> {
    const queued = this.pending.shift();
    const settle = (value: { type: number; body: Buffer } | Error) => {
      if (value instanceof Error) throw value;
      if (value.type === 0x07) throw new AssociationEndedError('association aborted by the peer');
      return value;
    };
    if (queued) return Promise.resolve(queued).then(settle);
    return new Promise<{ type: number; body: Buffer } | Error>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting = undefined;
        resolve(new AssociationEndedError(`no answer within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.waiting = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
    }).then(settle);
  }

  /** Sends `dataSet` as a C-STORE and resolves with the response's status. */
  async store(context: ProposedContext, sopInstanceUid: string, dataSet: Buffer): Promise<number> {
    const id = this.accepted.get(`${context.abstractSyntax}|${context.transferSyntax}`);
    if (id === undefined) throw new Error(`no accepted presentation context for ${context.abstractSyntax}`);
    this.messageId = (this.messageId + 1) & 0xffff;
    const command = commandSet([
      [0x0002, uidBytes(context.abstractSyntax)],
      [0x0100, us(0x0001)],
      [0x0110, us(this.messageId)],
      [0x0700, us(0)],
      [0x0800, us(0x0000)],
      [0x1000, uidBytes(sopInstanceUid)],
    ]);
    this.socket.write(pData(id, 0x03, command));
    const fragment = Math.max(1024, this.peerMaxPdu - 12);
    if (dataSet.length === 0) this.socket.write(pData(id, 0x02, dataSet));
    for (let at = 0; at < dataSet.length; at += fragment) {
      const last = at + fragment >= dataSet.length;
      this.socket.write(pData(id, last ? 0x02 : 0x00, dataSet.subarray(at, at + fragment)));
    }
    const commandParts: Buffer[] = [];
    for (;;) {
      const answer = await this.next();
      if (answer.type !== 0x04) throw new AssociationEndedError(`unexpected PDU type ${answer.type}`);
      let last = false;
      for (let at = 0; at + 6 <= answer.body.length;) {
        const length = answer.body.readUInt32BE(at);
        const flags = answer.body[at + 5]!;
        if (flags & 0x01) commandParts.push(answer.body.subarray(at + 6, at + 4 + length));
        if ((flags & 0x03) === 0x03) last = true;
        at += 4 + length;
      }
      if (last) break;
    }
    const status = statusOf(Buffer.concat(commandParts));
    if (status === undefined) throw new AssociationEndedError('C-STORE response without a status');
    return status;
  }

  async release(): Promise<void> {
    try {
      this.socket.write(pdu(0x05, Buffer.alloc(4)));
      await this.next();
    } catch {
      // The peer may close at once; released either way.
    } finally {
      this.socket.destroy();
    }
  }

  abort(): void {
    this.socket.destroy();
  }
}
