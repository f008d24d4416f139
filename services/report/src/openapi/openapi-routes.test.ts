import type { Express } from 'express';
import { Redis } from 'ioredis';
import { describe, expect, test } from 'vitest';
import { createLogger, ObjectStore } from '@cxr/platform';
import { createApp } from '../app.ts';
import { createTestAuth } from '../auth/index.ts';
import { loadConfig } from '../config.ts';
import { ReportUpdatesHub } from '../live/report-updates-hub.ts';
import { createReportMetrics } from '../metrics.ts';
import { createSecondReadService } from '../second-read/second-read-service.ts';
import { SecondReadStore } from '../second-read/second-read-store.ts';
import { ModelMonitor } from '../monitoring/model-monitor.ts';
import { ReportStore } from '../state/report-store.ts';
import { buildOpenApiDocument } from './openapi-document.ts';

/**
 * The document and the app agree: every route the app serves under /api and /fhir is described, and
 * every described path is served. Building the app connects to nothing (lazy clients).
 */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

function servedRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${layer.route.path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found;
}

/** `/api/studies/:studyInstanceUid/report` → `/api/studies/{studyInstanceUid}/report`. */
function toOpenApiPath(path: string): string {
  return path.replace(/:([A-Za-z]+)/g, '{$1}');
}

describe('the OpenAPI document and the routes', () => {
  test('describe each other exactly', async () => {
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    const logger = createLogger('report', 'silent');
    const redis = new Redis({ lazyConnect: true });
    const reports = new ReportStore({ objects: new ObjectStore(config.s3), redis, bucket: 'b', keyPrefix: 'p' });
    const { auth } = await createTestAuth();
    const app = createApp({
      config,
      logger,
      objects: new ObjectStore(config.s3),
      reports,
      redis,
      metrics: createReportMetrics(() => reports.countByStatus()),
      auth,
      hub: new ReportUpdatesHub(new Redis({ lazyConnect: true }), 'c', logger),
      secondRead: createSecondReadService({
        reports,
        store: new SecondReadStore({ objects: new ObjectStore(config.s3), redis, bucket: 'b', keyPrefix: 'p' }),
        metrics: createReportMetrics(() => reports.countByStatus()).secondRead,
        signUrl: (path) => auth.signUrl(path),
        publicUrl: config.publicUrl,
        logger,
      }),
      monitor: { monitor: new ModelMonitor({ redis, queuePrefix: 'p', retentionDays: 1, limits: config.monitoring.limits }), defaultWindowMs: config.monitoring.driftWindowMs },
    });
    const served = servedRoutes(app)
      .filter((r) => /^\/(api|fhir)\//.test(r.split(' ')[1]!))
      .map((r) => {
        const [method, path] = r.split(' ');
        return `${method} ${toOpenApiPath(path!)}`;
      })
      .sort();
    const document = buildOpenApiDocument({ serverUrl: 'http://127.0.0.1:8090' }) as { paths: Record<string, Record<string, unknown>> };
    const described = Object.entries(document.paths)
      .flatMap(([path, item]) => Object.keys(item).filter((k) => ['get', 'put', 'post', 'delete', 'patch'].includes(k)).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    expect(served).toEqual(described);
    redis.disconnect();
  });
});
