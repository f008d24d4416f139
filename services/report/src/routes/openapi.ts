import express, { type Router } from 'express';
import { buildOpenApiDocument } from '../openapi/openapi-document.ts';

/** `GET /api/openapi.json`: the review API's OpenAPI 3.1 document (no token needed). */
export function openApiRoutes(options: { publicUrl: string }): Router {
  const router = express.Router();
  const document = buildOpenApiDocument({ serverUrl: options.publicUrl });
  router.get('/api/openapi.json', (_req, res) => {
    res.set('Cache-Control', 'public, max-age=300').json(document);
  });
  return router;
}
