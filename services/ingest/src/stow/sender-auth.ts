import type { RequestHandler } from 'express';
import { AuthenticationError, HttpError, type TokenVerifier } from '@cxr/platform';

/**
 * Who is sending over STOW-RS. A sending system proves itself with either
 * - its API key (`Authorization: Bearer <key>` or `X-API-Key: <key>`), configured per system, or
 * - a bearer token (JWT) with the `integration` role from the configured issuer (see
 *   @cxr/platform auth), e.g. a DICOMweb gateway with an OIDC client.
 * The sending system's name (never the key or token) is what gets logged.
 *
 * Authentication is required when API keys are configured or `required` is set; otherwise a
 * request without credentials is accepted as sender "anonymous" (local runs; the service warns).
 * Credentials that are present but wrong are refused either way.
 */
export interface SenderAuthOptions {
  apiKeys: Map<string, string>;
  verifier?: TokenVerifier;
  required: boolean;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function senderAuth(options: SenderAuthOptions): RequestHandler {
  const { apiKeys, verifier } = options;
  const required = options.required || apiKeys.size > 0;
  const refuse = (message: string, error = 'invalid_token') =>
    Object.assign(new HttpError(401, 'unauthorized', message), { challenge: `Bearer realm="dicomweb", error="${error}"` });

  return (req, res, next) => {
    const header = req.get('authorization');
    const bearer = header && /^bearer\s+/i.test(header) ? header.replace(/^bearer\s+/i, '').trim() : undefined;
    const apiKey = bearer ?? req.get('x-api-key');

    const fail = (error: HttpError & { challenge?: string }) => {
      res.set('WWW-Authenticate', error.challenge ?? 'Bearer realm="dicomweb"');
      next(error);
    };

    if (!apiKey) {
      if (required) {
        fail(new HttpError(401, 'unauthorized', 'credentials are required: an API key or a bearer token with the integration role'));
        return;
      }
      res.locals.sender = 'anonymous';
      next();
      return;
    }
    const keyOwner = apiKeys.get(apiKey);
    if (keyOwner) {
      res.locals.sender = keyOwner;
      next();
      return;
    }
    if (!verifier || !bearer || !JWT_SHAPE.test(bearer)) {
      fail(refuse('the API key is not valid'));
      return;
    }
    verifier.verify(bearer).then(
      (principal) => {
        if (!principal.roles.includes('integration')) {
          next(new HttpError(403, 'forbidden', 'sending studies needs the integration role'));
          return;
        }
        res.locals.sender = `token:${principal.sub}`;
        next();
      },
      (error: unknown) => {
        if (error instanceof AuthenticationError) fail(refuse(error.message));
        else next(error);
      },
    );
  };
}
