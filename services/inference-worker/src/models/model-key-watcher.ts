import { errorMessage, type Logger, type Redis } from '@cxr/platform';
import { parseModelRef, type ModelRef } from './model-ref.ts';

/** The Redis key naming the model version every worker should run (`id@version`). */
export const modelKey = (queuePrefix: string): string => `${queuePrefix}:worker:model`;

export interface ModelKeyWatcherDeps {
  redis: Redis;
  key: string;
  /** Between reads of the key; 0 = only when `checkNow` is called (SIGHUP). */
  intervalMs: number;
  onRef: (ref: ModelRef) => Promise<unknown>;
  logger: Logger;
}

/**
 * Polls the model key (a GET every `intervalMs`: cheap, and needs no keyspace notifications,
 * which managed Redis often disables) and hands a well-formed value to `onRef`. An empty key
 * changes nothing; a malformed one is logged once per value.
 */
export function watchModelKey(deps: ModelKeyWatcherDeps): { checkNow(): Promise<void>; stop(): void } {
  const { redis, key, logger } = deps;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let malformed: string | undefined;

  async function check(): Promise<void> {
    let value: string | null;
    try {
      value = await redis.get(key);
    } catch (error) {
      logger.warn({ key, reason: errorMessage(error) }, 'cannot read the model key; will try again');
      return;
    }
    if (!value) return;
    let ref: ModelRef;
    try {
      ref = parseModelRef(value.trim());
    } catch (error) {
      if (malformed !== value) logger.error({ key, reason: errorMessage(error) }, 'the model key does not name a model version; ignored');
      malformed = value;
      return;
    }
    await deps.onRef(ref);
  }

  function checkNow(): Promise<void> {
    running ??= check().finally(() => (running = undefined));
    return running;
  }

  function schedule(): void {
    if (stopped || deps.intervalMs <= 0) return;
    timer = setTimeout(() => void checkNow().finally(schedule), deps.intervalMs);
    timer.unref();
  }
  schedule();

  return {
    checkNow,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
