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
 * (association PDUs), association.ts (the per-connection state machine), message-assembly.ts
 * (PDVs into messages), dimse-messages.ts (command sets), command-dispatcher.ts with
 * storage-service.ts and verification-service.ts (the service classes), presentation-policy.ts
 * (what we accept), and this file (listening, limits, shutdown). What the application decides
 * comes in through handlers.ts; the options are in server-options.ts.
 */
import net from 'node:net';
import { Association, type Admission, type AssociationHost } from './association.ts';
import { callingAeTitleFilter } from './handlers.ts';
import {
  DEFAULT_CLOSE_GRACE_MS, DEFAULT_MAX_ASSOCIATIONS_PER_CALLING_AE, DEFAULT_MAX_ASSOCIATIONS_PER_PEER, DEFAULT_MAX_CONNECTIONS_PER_PEER,
  DEFAULT_MAX_PENDING_CONNECTIONS, receiveLimitsOf, validateServerOptions, type DimseServerOptions,
} from './server-options.ts';
import { StorageService } from './storage-service.ts';

export type { DimseServerOptions, ReceiveBudget } from './server-options.ts';
export type { AssociationEndContext, DimseLogger, InstanceContext } from './handlers.ts';

export interface DimseServer {
  listen(): Promise<{ host: string; port: number }>;
  /** Stops accepting, lets established associations finish within the grace period, then aborts them. */
  close(): Promise<void>;
  activeAssociations(): number;
  /** Open connections that have no association (not yet asked, or refused and closing). */
  pendingConnections(): number;
}

/** Counts per key (peer address, calling AE title), deleting keys that reach 0. */
class Counts {
  private readonly counts = new Map<string, number>();
  get(key: string): number {
    return this.counts.get(key) ?? 0;
  }
  add(key: string, by: number): void {
    const next = this.get(key) + by;
    if (next <= 0) this.counts.delete(key);
    else this.counts.set(key, next);
  }
}

export function createDimseServer(options: DimseServerOptions): DimseServer {
  validateServerOptions(options);
  const connections = new Set<Association>();
  /** Connections without an association, oldest first (a Set keeps insertion order). */
  const pending = new Set<Association>();
  const connectionsPerPeer = new Counts();
  const associationsPerPeer = new Counts();
  const associationsPerAe = new Counts();
  const maxPending = options.maxPendingConnections ?? DEFAULT_MAX_PENDING_CONNECTIONS;
  const maxConnectionsPerPeer = options.maxConnectionsPerPeer ?? DEFAULT_MAX_CONNECTIONS_PER_PEER;
  const maxPerPeer = options.maxAssociationsPerPeer ?? DEFAULT_MAX_ASSOCIATIONS_PER_PEER;
  const maxPerAe = options.maxAssociationsPerCallingAe ?? DEFAULT_MAX_ASSOCIATIONS_PER_CALLING_AE;
  let admitted = 0;
  let closing = false;

  const host: AssociationHost = {
    aeTitle: options.aeTitle,
    callers: callingAeTitleFilter(options.allowedCallingAeTitles),
    maxPduLength: options.maxPduLength,
    limits: receiveLimitsOf(options),
    budget: options.receiveBudget,
    logger: options.logger,
    storage: new StorageService(options, options.maxInstanceBytes),
    endHandler: options,
    admit(association): Admission {
      if (closing) return 'closing';
      if (admitted >= options.maxAssociations) return 'limit';
      if (associationsPerPeer.get(association.remoteAddress) >= maxPerPeer) return 'peer-limit';
      if (associationsPerAe.get(association.callingAeTitle) >= maxPerAe) return 'calling-ae-limit';
      admitted += 1;
      associationsPerPeer.add(association.remoteAddress, 1);
      associationsPerAe.add(association.callingAeTitle, 1);
      pending.delete(association);
      return 'accept';
    },
    releaseSlot(association, wasAdmitted) {
      if (!wasAdmitted) return;
      admitted -= 1;
      associationsPerPeer.add(association.remoteAddress, -1);
      associationsPerAe.add(association.callingAeTitle, -1);
    },
    finished(association) {
      connections.delete(association);
      pending.delete(association);
      connectionsPerPeer.add(association.remoteAddress, -1);
    },
  };

  const server = net.createServer({ noDelay: true }, (socket) => {
    const peer = socket.remoteAddress ?? '';
    if (connectionsPerPeer.get(peer) >= maxConnectionsPerPeer) {
      options.logger.warn({ remoteAddress: peer, limit: maxConnectionsPerPeer }, 'DIMSE connection refused: too many from this address');
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    if (pending.size >= maxPending) {
      // Room for the newcomer: the oldest unassociated connection has had longest to ask.
      const oldest = pending.values().next().value!;
      pending.delete(oldest);
      options.logger.warn({ remoteAddress: oldest.remoteAddress, limit: maxPending }, 'DIMSE too many connections without an association, dropping the oldest');
      oldest.dropIfNotAdmitted();
    }
    connectionsPerPeer.add(peer, 1);
    const association = new Association(socket, host);
    connections.add(association);
    pending.add(association);
  });
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

    pendingConnections() {
      return pending.size;
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
