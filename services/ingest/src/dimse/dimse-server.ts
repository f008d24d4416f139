/**
 * C-ECHO + C-STORE SCP (DICOM upper layer PS3.8, DIMSE PS3.7), implemented here rather than
 * with dcmjs-dimse.
 *
 * Why not dcmjs-dimse 0.3.3 (read from its shipped build and typings): its per-socket `Scp` and
 * `createStoreWritableStream` hook could give raw data set bytes and bind our own server, but its
 * PDU reader trusts the declared PDU length and keeps `Buffer.concat`-ing chunks until that many
 * bytes arrive: no check against the maximum length we advertise, so a 4 GiB header is waited
 * for while memory grows (and concatenating per chunk is quadratic for large PDUs). That breaks
 * the bounded-memory requirement at the first layer, which no hook reaches. The acceptor side we
 * need (one RQ/AC/RJ, P-DATA reassembly, C-ECHO/C-STORE, release, abort) is small and fully
 * specified, so we own it: pdu-reader.ts (framing with per-type length limits), pdus.ts
 * (association PDUs), dimse-messages.ts (command sets), presentation-policy.ts (what we accept),
 * association.ts (the per-connection state machine), and this file (listening, limits, shutdown).
 */
import net from 'node:net';
import { Association, type Admission, type AssociationHost } from './association.ts';

export interface DimseLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export interface InstanceContext {
  associationId: string;
  callingAeTitle: string;
  sopClassUid: string;
  sopInstanceUid: string;
  transferSyntaxUid: string;
  /** SHA-256 (hex) of the file handed over and of its data set (the file after its meta information), computed as the bytes arrived. */
  sha256: { file: string; dataSet: string };
}

export interface AssociationEndContext {
  associationId: string;
  callingAeTitle: string;
  /** false = aborted (by either side), dropped, or timed out. */
  released: boolean;
  /** Instances whose onInstance resolved, in the order received. */
  storedSopInstanceUids: string[];
}

export interface DimseServerOptions {
  /** Bind address, honoured as given. */
  host: string;
  /** 0 picks a free port (see the address listen() resolves to). */
  port: number;
  /** Our AE title; associations calling another title are rejected (called AE title not recognized). */
  aeTitle: string;
  /** Empty or undefined = any caller; otherwise others are rejected (calling AE title not recognized). */
  allowedCallingAeTitles?: string[];
  /** Beyond this many concurrent associations, new ones are rejected (transient, local limit exceeded). */
  maxAssociations: number;
  /** The maximum P-DATA-TF length we advertise and enforce on what we receive. */
  maxPduLength: number;
  /** Larger data sets are read, dropped and answered 0xA700; never buffered past this. */
  maxInstanceBytes: number;
  /** ARTIM and idle timeout for a connection that sends nothing (not counted while we are storing). Default 60 s. */
  idleTimeoutMs?: number;
  /** How long close() lets established associations finish before aborting them. Default 10 s. */
  closeGracePeriodMs?: number;
  logger: DimseLogger;
  /**
   * A complete Part 10 file: preamble, our file meta information, then the data set exactly as
   * received. Resolve = stored (status 0x0000). Reject = not stored; the status sent is the
   * error's `dimseStatus` when it is a failure code, else 0xA700 (see store-status.ts).
   */
  onInstance(file: Buffer, ctx: InstanceContext): Promise<void>;
  /** Once per accepted association, after release, abort or close; errors are logged. */
  onAssociationEnd(ctx: AssociationEndContext): Promise<void>;
}

export interface DimseServer {
  listen(): Promise<{ host: string; port: number }>;
  /** Stops accepting, lets established associations finish within the grace period, then aborts them. */
  close(): Promise<void>;
  activeAssociations(): number;
}

export class DimseConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DimseConfigError';
  }
}

const DEFAULT_IDLE_TIMEOUT_MS = 60_000;
const DEFAULT_CLOSE_GRACE_MS = 10_000;
/** Connections beyond maxAssociations we still accept, to answer them with A-ASSOCIATE-RJ. */
const EXTRA_CONNECTIONS = 16;

function validate(options: DimseServerOptions): void {
  const ae = options.aeTitle;
  const forbidden = [...ae].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) > 0x7e);
  if (ae.length === 0 || ae.length > 16 || ae !== ae.trim() || forbidden) {
    throw new DimseConfigError('aeTitle must be 1-16 characters, printable ASCII without backslash, no surrounding spaces');
  }
  if (!Number.isInteger(options.maxAssociations) || options.maxAssociations < 1) throw new DimseConfigError('maxAssociations must be a positive integer');
  if (!Number.isInteger(options.maxPduLength) || options.maxPduLength < 4096 || options.maxPduLength > 0x7fffffff) {
    throw new DimseConfigError('maxPduLength must be an integer from 4096 to 2147483647');
  }
  if (!Number.isInteger(options.maxInstanceBytes) || options.maxInstanceBytes < 1) throw new DimseConfigError('maxInstanceBytes must be a positive integer');
}

export function createDimseServer(options: DimseServerOptions): DimseServer {
  validate(options);
  const connections = new Set<Association>();
  let admitted = 0;
  let closing = false;

  const host: AssociationHost = {
    options,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    admit(): Admission {
      if (closing) return 'closing';
      if (admitted >= options.maxAssociations) return 'limit';
      admitted += 1;
      return 'accept';
    },
    releaseSlot(_association, wasAdmitted) {
      if (wasAdmitted) admitted -= 1;
    },
    finished(association) {
      connections.delete(association);
    },
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    connections.add(new Association(socket, host));
  });
  server.maxConnections = options.maxAssociations + EXTRA_CONNECTIONS;
  server.on('error', (error) => options.logger.error({ err: error.message }, 'DIMSE listener error'));

  return {
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        server.once('error', onError);
        server.listen({ host: options.host, port: options.port }, () => {
          server.off('error', onError);
          const address = server.address() as net.AddressInfo;
          options.logger.info({ host: address.address, port: address.port, aeTitle: options.aeTitle }, 'DIMSE SCP listening');
          resolve({ host: address.address, port: address.port });
        });
      });
    },

    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const association of connections) association.destroyIfUnassociated();
      const grace = options.closeGracePeriodMs ?? DEFAULT_CLOSE_GRACE_MS;
      const allFinished = (): Promise<void> => Promise.all([...connections].map((a) => a.finished)).then(() => undefined);
      if (!(await settlesWithin(allFinished(), grace))) {
        options.logger.warn({ associations: connections.size }, 'DIMSE grace period over, aborting associations');
        for (const association of connections) association.abort();
        if (!(await settlesWithin(allFinished(), grace))) {
          // Only a handler that never settles can get here; the sockets themselves are gone.
          options.logger.error({ associations: connections.size }, 'DIMSE handlers still running after abort');
        }
      }
      await stopped;
    },

    activeAssociations() {
      return admitted;
    },
  };
}

async function settlesWithin(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
