import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Actor, Role } from '@cxr/contracts';
import { AuthenticationError, authEnvSchema, createTokenVerifier, HttpError, mintDevToken, toAuthConfig, type Principal, type TokenVerifier } from '@cxr/platform';
import { UrlSigner } from './signed-urls.ts';

/**
 * Who may call the review API. Every `/api` route declares the roles it accepts; a request
 * proves who it is with a bearer token (see @cxr/platform auth for issuers). Images linked from
 * a report may instead carry a signed URL (see signed-urls.ts).
 *
 * Roles: radiologist (read, edit, sign), viewer (read), admin (read, audit), integration
 * (read and export, for RIS/EHR/PACS systems). Admin is not a clinical role: it cannot edit or sign.
 */

export const READ_ROLES: readonly Role[] = Object.freeze(['viewer', 'radiologist', 'admin', 'integration']);

export interface HttpAuth {
  /** 401 without a valid bearer token, 403 without one of `roles`; then `principalOf(res)` works. */
  require(...roles: Role[]): RequestHandler;
  /** As `require`, or a valid unexpired signed URL (then there is no principal). */
  requireOrSignedUrl(...roles: Role[]): RequestHandler;
  /**
   * As `require`, also accepting the token as `?access_token=` for EventSource, which cannot
   * send headers (server-sent events only; such URLs end up in proxy logs, so tokens are short-lived).
   */
  requireAllowingQueryToken(...roles: Role[]): RequestHandler;
  signUrl(pathWithQuery: string, now?: Date): { url: string; expiresAt: string };
}

const PRINCIPAL = 'principal';

export function createHttpAuth(options: { verifier: TokenVerifier; urlSecret: string | Buffer; urlTtlSeconds: number }): HttpAuth {
  const { verifier } = options;
  const signer = new UrlSigner(options.urlSecret, options.urlTtlSeconds);

  function guard(roles: Role[], accept: { signedUrl: boolean; queryToken: boolean }): RequestHandler {
    if (roles.length === 0) throw new Error('a guarded route must name at least one role');
    return (req: Request, res: Response, next: NextFunction) => {
      if (accept.signedUrl && !req.headers.authorization && signer.verify(req.originalUrl)) {
        next();
        return;
      }
      const token = bearerToken(req) ?? (accept.queryToken && typeof req.query.access_token === 'string' ? req.query.access_token : undefined);
      if (!token) {
        res.set('WWW-Authenticate', 'Bearer realm="cxr"');
        next(new HttpError(401, 'unauthenticated', 'a bearer token is required'));
        return;
      }
      verifier.verify(token).then(
        (principal) => {
          if (!principal.roles.some((role) => roles.includes(role))) {
            next(new HttpError(403, 'forbidden', `this needs one of the roles: ${roles.join(', ')}`));
            return;
          }
          res.locals[PRINCIPAL] = principal;
          next();
        },
        (error: unknown) => {
          if (!(error instanceof AuthenticationError)) {
            next(error);
            return;
          }
          res.set('WWW-Authenticate', 'Bearer realm="cxr", error="invalid_token"');
          next(new HttpError(401, 'invalid-token', error.message));
        },
      );
    };
  }

  return {
    require: (...roles) => guard(roles, { signedUrl: false, queryToken: false }),
    requireOrSignedUrl: (...roles) => guard(roles, { signedUrl: true, queryToken: false }),
    requireAllowingQueryToken: (...roles) => guard(roles, { signedUrl: false, queryToken: true }),
    signUrl: (pathWithQuery, now) => signer.sign(pathWithQuery, now),
  };
}

function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

/** The authenticated principal of a request that passed `require`. */
export function principalOf(res: Response): Principal {
  const principal = res.locals[PRINCIPAL] as Principal | undefined;
  if (!principal) throw new Error('route has no authenticated principal (missing auth.require?)');
  return principal;
}

const ROLE_PRECEDENCE: readonly Role[] = ['radiologist', 'admin', 'integration', 'viewer'];

/** How a principal appears in revisions and the audit trail: under its most privileged role. */
export function actorOf(principal: Principal): Actor {
  const role = ROLE_PRECEDENCE.find((r) => principal.roles.includes(r)) ?? 'viewer';
  return { sub: principal.sub, name: principal.name, role };
}

/** For tests: an HttpAuth on the development issuer and a way to mint its tokens. */
export function createTestAuth(): Promise<{ auth: HttpAuth; token(role: Role, sub?: string, name?: string): Promise<string> }> {
  const verifier = createTokenVerifier(toAuthConfig(authEnvSchema.parse({})));
  const auth = createHttpAuth({ verifier, urlSecret: 'test-url-signing-secret-0123456789', urlTtlSeconds: 300 });
  return Promise.resolve({ auth, token: (role, sub, name) => mintDevToken({ role, ...(sub ? { sub } : {}), ...(name ? { name } : {}) }) });
}
