import { createRemoteJWKSet, jwtVerify, SignJWT, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { roleSchema, type Role } from '@cxr/contracts';
import { ConfigError } from './errors.ts';

/**
 * Bearer tokens (JWT) and the roles they carry.
 *
 * Two issuers: a local development issuer (HS256 with a shared secret, so `npm start` and the
 * tests work with nothing else running; `npm run token` mints one), and in production an OIDC
 * provider (Keycloak, Entra ID, ...) whose signing keys are fetched from its JWKS URL. Roles come
 * from a configurable claim, because providers put them in different places (Keycloak:
 * `realm_access.roles`). Unknown role names are ignored; a token without a known role is
 * authenticated but may do nothing.
 */

/** The development issuer. Its secret is public by design: never run `AUTH_MODE=dev` in production. */
export const DEV_AUTH = Object.freeze({
  issuer: 'cxr-dev',
  audience: 'cxr',
  secret: 'cxr-development-only-secret-do-not-use-in-production',
});

export interface Principal {
  sub: string;
  name: string;
  roles: Role[];
}

export class AuthenticationError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AuthenticationError';
  }
}

export interface TokenVerifier {
  /** The token's principal, or AuthenticationError saying why the token is refused. */
  verify(token: string): Promise<Principal>;
}

/** Environment settings of token verification, shared by every service that checks tokens. */
export const authEnvSchema = z.object({
  AUTH_MODE: z.enum(['dev', 'oidc']).default('dev'),
  AUTH_DEV_SECRET: z.string().min(32).default(DEV_AUTH.secret),
  /** OIDC: the issuer (`iss`) tokens must carry. */
  AUTH_ISSUER: z.string().min(1).optional(),
  /** OIDC: where the issuer publishes its signing keys. */
  AUTH_JWKS_URL: z.string().url().optional(),
  AUTH_AUDIENCE: z.string().min(1).default(DEV_AUTH.audience),
  /** Dotted path of the roles claim (array of role names), e.g. `realm_access.roles`. */
  AUTH_ROLES_CLAIM: z.string().min(1).default('roles'),
  AUTH_NAME_CLAIM: z.string().min(1).default('name'),
});
export type AuthEnv = z.infer<typeof authEnvSchema>;

export type AuthConfig =
  | { mode: 'dev'; secret: string; audience: string; rolesClaim: string; nameClaim: string }
  | { mode: 'oidc'; issuer: string; jwksUrl: string; audience: string; rolesClaim: string; nameClaim: string };

export function toAuthConfig(env: AuthEnv): AuthConfig {
  const common = { audience: env.AUTH_AUDIENCE, rolesClaim: env.AUTH_ROLES_CLAIM, nameClaim: env.AUTH_NAME_CLAIM };
  if (env.AUTH_MODE === 'dev') return { mode: 'dev', secret: env.AUTH_DEV_SECRET, ...common };
  if (!env.AUTH_ISSUER || !env.AUTH_JWKS_URL) {
    throw new ConfigError('Invalid configuration:\n  AUTH_MODE=oidc needs AUTH_ISSUER and AUTH_JWKS_URL');
  }
  return { mode: 'oidc', issuer: env.AUTH_ISSUER, jwksUrl: env.AUTH_JWKS_URL, ...common };
}

const ALGORITHMS_DEV = ['HS256'];
// Asymmetric algorithms only from an external issuer: a JWKS must never be trusted for HS*.
const ALGORITHMS_OIDC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

export function createTokenVerifier(config: AuthConfig): TokenVerifier {
  const key: Uint8Array | JWTVerifyGetKey =
    config.mode === 'dev' ? new TextEncoder().encode(config.secret) : createRemoteJWKSet(new URL(config.jwksUrl), { cooldownDuration: 30_000 });
  const options = {
    issuer: config.mode === 'dev' ? DEV_AUTH.issuer : config.issuer,
    audience: config.audience,
    algorithms: config.mode === 'dev' ? ALGORITHMS_DEV : ALGORITHMS_OIDC,
    clockTolerance: 30,
    requiredClaims: ['sub', 'exp'],
  };
  return {
    async verify(token: string): Promise<Principal> {
      let payload: JWTPayload;
      try {
        // jose's overloads differ for a key and a key function; both are valid here.
        ({ payload } = typeof key === 'function' ? await jwtVerify(token, key, options) : await jwtVerify(token, key, options));
      } catch (error) {
        throw new AuthenticationError(`invalid bearer token: ${describeJoseError(error)}`, { cause: error });
      }
      return principalFromClaims(payload, config.rolesClaim, config.nameClaim);
    },
  };
}

export function principalFromClaims(payload: JWTPayload, rolesClaim: string, nameClaim: string): Principal {
  const sub = payload.sub;
  if (typeof sub !== 'string' || sub.length === 0) throw new AuthenticationError('invalid bearer token: no subject');
  const rawRoles = claimAt(payload, rolesClaim);
  const roles = Array.isArray(rawRoles) ? rawRoles.flatMap((r) => (roleSchema.safeParse(r).success ? [r as Role] : [])) : [];
  const rawName = claimAt(payload, nameClaim) ?? payload.preferred_username;
  return { sub, name: typeof rawName === 'string' && rawName.length > 0 ? rawName.slice(0, 256) : sub, roles: [...new Set(roles)] };
}

function claimAt(payload: JWTPayload, path: string): unknown {
  let value: unknown = payload;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<string, unknown>)[part];
  }
  return value;
}

function describeJoseError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return 'expired';
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return `claim check failed (${(error as { claim?: string }).claim ?? 'unknown claim'})`;
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return 'signature does not verify';
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return 'signing algorithm not allowed';
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return 'no matching signing key';
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return 'malformed';
    default:
      return error instanceof Error ? error.message : 'unknown error';
  }
}

const ROLE_NAMES: Record<Role, string> = {
  radiologist: 'Dev Radiologist',
  viewer: 'Dev Viewer',
  admin: 'Dev Admin',
  integration: 'Dev Integration',
};

/** A token from the development issuer, accepted by services running with `AUTH_MODE=dev`. */
export async function mintDevToken(options: {
  role: Role | Role[];
  sub?: string;
  name?: string;
  ttlSeconds?: number;
  secret?: string;
}): Promise<string> {
  const roles = Array.isArray(options.role) ? options.role : [options.role];
  const first = roles[0] ?? 'viewer';
  return new SignJWT({ roles, name: options.name ?? ROLE_NAMES[first] })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuer(DEV_AUTH.issuer)
    .setAudience(DEV_AUTH.audience)
    .setSubject(options.sub ?? `dev-${first}`)
    .setIssuedAt()
    .setExpirationTime(`${options.ttlSeconds ?? 8 * 3600}s`)
    .sign(new TextEncoder().encode(options.secret ?? DEV_AUTH.secret));
}
