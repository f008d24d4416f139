import { Redis } from 'ioredis';

export { Redis };

/**
 * Two kinds of connection. Workers block on Redis and must retry forever (BullMQ requires
 * `maxRetriesPerRequest: null`). Request paths (a C-STORE waiting for an answer) must fail fast
 * when Redis is down so the sender gets a status it retries on, not a hang.
 */
export function createWorkerConnection(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, lazyConnect: false });
}

export function createRequestConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    commandTimeout: 5000,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
  });
}
