import express, { type Router } from 'express';
import { reportStatusSchema, studyPrioritySchema, worklistResponseSchema, type ReportStatus, type StudyPriority } from '@cxr/contracts';
import { HttpError } from '@cxr/platform';
import { READ_ROLES, type HttpAuth } from '../auth/index.ts';
import type { ReportStore, WorklistQuery } from '../state/report-store.ts';
import { decodeWorklistCursor } from '../state/report-index.ts';

/**
 * `GET /api/studies?status=draft,signed&priority=stat&limit=50&cursor=` (READ_ROLES): the
 * worklist from the Redis index, urgent findings first, then priority (stat, urgent, routine),
 * then oldest first. Filters are comma-separated; left out, they match everything. `cursor` is
 * the previous page's `nextCursor`.
 */

export interface WorklistRoutesDeps {
  auth: HttpAuth;
  reports: ReportStore;
}

export const WORKLIST_DEFAULT_LIMIT = 50;
export const WORKLIST_MAX_LIMIT = 200;

export function worklistRoutes(deps: WorklistRoutesDeps): Router {
  const { auth, reports } = deps;
  const router = express.Router();

  router.get('/api/studies', auth.require(...READ_ROLES), async (req, res) => {
    const query = parseWorklistQuery(req.query as Record<string, unknown>);
    const page = await reports.worklist(query);
    res.set('Cache-Control', 'private, no-cache').json(worklistResponseSchema.parse({ items: page.items, nextCursor: page.next }));
  });

  return router;
}

/** The worklist query from URL parameters; 400 for anything it cannot be. */
export function parseWorklistQuery(params: Record<string, unknown>): WorklistQuery {
  const statuses = listParam(params, 'status', reportStatusSchema.options) as ReportStatus[];
  const priorities = listParam(params, 'priority', studyPrioritySchema.options) as StudyPriority[];
  const limitRaw = single(params, 'limit');
  let limit = WORKLIST_DEFAULT_LIMIT;
  if (limitRaw !== undefined) {
    if (!/^[1-9][0-9]{0,3}$/.test(limitRaw) || Number(limitRaw) > WORKLIST_MAX_LIMIT) {
      throw new HttpError(400, 'invalid-limit', `limit must be an integer from 1 to ${WORKLIST_MAX_LIMIT}`);
    }
    limit = Number(limitRaw);
  }
  const cursorRaw = single(params, 'cursor');
  let after: string | null = null;
  if (cursorRaw !== undefined && cursorRaw !== '') {
    after = decodeWorklistCursor(cursorRaw);
    if (after === null) throw new HttpError(400, 'invalid-cursor', 'cursor is not one this service gave out');
  }
  return { statuses, priorities, limit, after };
}

function single(params: Record<string, unknown>, name: string): string | undefined {
  const value = params[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new HttpError(400, `invalid-${name}`, `${name} may be given once`);
  return value;
}

function listParam(params: Record<string, unknown>, name: string, allowed: readonly string[]): string[] {
  const raw = single(params, name);
  if (raw === undefined || raw === '') return [...allowed];
  const values = [...new Set(raw.split(',').map((v) => v.trim()))];
  const bad = values.filter((v) => !allowed.includes(v));
  if (bad.length > 0) throw new HttpError(400, `invalid-${name}`, `${name} must be among: ${allowed.join(', ')}`);
  return values;
}
