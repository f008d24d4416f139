import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Request, Response } from 'express';

export * as prom from 'prom-client';

/** One registry per service, with Node's default process metrics and a `service` label. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: 'cxr_' });
  return registry;
}

export function metricsHandler(registry: Registry) {
  return async (_req: Request, res: Response): Promise<void> => {
    res.set('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  };
}
