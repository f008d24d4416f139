import type { RequestHandler } from 'express';
import { HttpError } from '@cxr/platform';

/**
 * STOW-RS senders authenticate with a per-system API key, as `Authorization: Bearer <key>` or
 * `X-API-Key: <key>`. The sending system's name (not the key) is what gets logged.
 * With no keys configured, requests are accepted as sender "anonymous" (local runs).
 */
export function senderAuth(apiKeys: Map<string, string>): RequestHandler {
  return (req, res, next) => {
    if (apiKeys.size === 0) {
      res.locals.sender = 'anonymous';
      next();
      return;
    }
    const header = req.get('authorization');
    const key = header?.toLowerCase().startsWith('bearer ') ? header.slice(7).trim() : req.get('x-api-key');
    const sender = key ? apiKeys.get(key) : undefined;
    if (!sender) {
      res.set('WWW-Authenticate', 'Bearer realm="dicomweb"');
      next(new HttpError(401, 'unauthorized', 'a valid API key is required (Authorization: Bearer <key>)'));
      return;
    }
    res.locals.sender = sender;
    next();
  };
}
