import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

/**
 * MLLP (HL7 v2 Minimal Lower Layer Protocol): each message framed as <VT> message <FS><CR> on a
 * TCP connection, answered in turn by one framed ACK. This is the framing and the connection
 * handling only; what a message means and which ACK it gets is the handler's (hl7-listener.ts).
 *
 * Bounds: a message longer than `maxMessageBytes` is refused as soon as it is known to be (the
 * handler's `onTooLarge` ACK), and the connection closed, so the bytes that follow are never
 * buffered; bytes outside a frame are counted against the same bound; a connection idle for
 * `idleTimeoutMs` is closed; at most `maxConnections` are open at once. Messages on a connection
 * are handled one at a time, in order (a sender waits for each ACK).
 */

export const MLLP = Object.freeze({ startBlock: 0x0b, endBlock: 0x1c, carriageReturn: 0x0d });

export interface MllpHandler {
  /** The ACK (unframed) for one message (its bytes without the framing). Must not throw. */
  onMessage(message: Buffer): Promise<string>;
  /** The ACK for a message refused for its size; the connection is closed after it. */
  onTooLarge(limit: number): string;
}

export interface MllpServerOptions {
  host: string;
  port: number;
  maxMessageBytes: number;
  idleTimeoutMs: number;
  maxConnections: number;
}

export function frameMllp(payload: string): Buffer {
  return Buffer.concat([Buffer.from([MLLP.startBlock]), Buffer.from(payload, 'utf8'), Buffer.from([MLLP.endBlock, MLLP.carriageReturn])]);
}

/**
 * Splits an MLLP byte stream into messages. `push` returns the complete messages found so far, or
 * 'too-large' once the current message (or junk between frames) exceeds the bound.
 */
export class MllpFramer {
  private chunks: Buffer[] = [];
  private length = 0;
  private inFrame = false;
  private outside = 0;

  constructor(private readonly maxMessageBytes: number) {}

  push(data: Buffer): Buffer[] | 'too-large' {
    const messages: Buffer[] = [];
    let offset = 0;
    while (offset < data.length) {
      if (!this.inFrame) {
        const start = data.indexOf(MLLP.startBlock, offset);
        if (start < 0) {
          this.outside += data.length - offset;
          if (this.outside > this.maxMessageBytes) return 'too-large';
          break;
        }
        this.outside += start - offset;
        this.inFrame = true;
        offset = start + 1;
        continue;
      }
      const end = data.indexOf(MLLP.endBlock, offset);
      const stop = end < 0 ? data.length : end;
      if (this.length + (stop - offset) > this.maxMessageBytes) return 'too-large';
      if (stop > offset) {
        this.chunks.push(data.subarray(offset, stop));
        this.length += stop - offset;
      }
      if (end < 0) break;
      messages.push(Buffer.concat(this.chunks, this.length));
      this.chunks = [];
      this.length = 0;
      this.inFrame = false;
      this.outside = 0;
      // The CR after FS; a sender that leaves it out is tolerated.
      offset = data[end + 1] === MLLP.carriageReturn ? end + 2 : end + 1;
    }
    return messages;
  }
}

export class MllpServer {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    private readonly options: MllpServerOptions,
    private readonly handler: MllpHandler,
  ) {
    this.server = createServer((socket) => this.accept(socket));
    this.server.maxConnections = options.maxConnections;
  }

  async listen(): Promise<{ host: string; port: number }> {
    this.server.listen(this.options.port, this.options.host);
    await once(this.server, 'listening');
    const address = this.server.address();
    if (address === null || typeof address === 'string') throw new Error('the MLLP listener has no TCP address');
    return { host: address.address, port: address.port };
  }

  /** Stops accepting, ends open connections (each after the message it is handling) and waits for them. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.end();
    const forced = setTimeout(() => {
      for (const socket of this.sockets) socket.destroy();
    }, 5000);
    await closed;
    clearTimeout(forced);
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(this.options.idleTimeoutMs, () => socket.destroy());
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy()); // a reset by the peer; nothing to answer
    const framer = new MllpFramer(this.options.maxMessageBytes);
    // One message at a time: the next waits for the previous one's ACK.
    let queue: Promise<void> = Promise.resolve();
    let refused = false;
    socket.on('data', (data: Buffer) => {
      if (refused) return;
      const found = framer.push(data);
      if (found === 'too-large') {
        refused = true;
        socket.pause();
        queue = queue.then(() => {
          // End after the ACK is flushed, and close: a sender that keeps sending is not read any more.
          if (!socket.destroyed) socket.end(frameMllp(this.handler.onTooLarge(this.options.maxMessageBytes)), () => socket.destroy());
        }).catch(() => {
          socket.destroy();
        });
        return;
      }
      for (const message of found) {
        queue = queue.then(async () => {
          const ack = await this.handler.onMessage(message);
          if (!socket.destroyed) socket.write(frameMllp(ack));
        }).catch(() => {
          socket.destroy();
        });
      }
    });
  }
}
