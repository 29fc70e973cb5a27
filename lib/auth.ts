import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import type { AuthSettings } from './config.ts';
import { ServiceUnavailableError, UnauthorizedError } from './errors.ts';

/** Verifies an `Authorization` header and returns the token's subject (the user id). */
export type TokenVerifier = (authorization: string | undefined) => Promise<string>;

const MAX_SUBJECT_LENGTH = 256;

/**
 * Builds the verifier for the configured mode: `JWT_SECRET` (HS256, as issued by
 * flask-jwt-extended) or `JWKS_URL` (RS256/ES256 from an OIDC provider). Algorithms are pinned,
 * so `alg: none` and algorithm confusion never pass; `exp` and `sub` are required.
 */
export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  const options: JWTVerifyOptions = {
    requiredClaims: ['exp', 'sub'],
    clockTolerance: 5,
    ...(settings.JWT_ISSUER ? { issuer: settings.JWT_ISSUER } : {}),
    ...(settings.JWT_AUDIENCE ? { audience: settings.JWT_AUDIENCE } : {}),
  };
  let verify: (token: string) => Promise<JWTPayload>;
  if (settings.JWT_SECRET) {
    const secret = new TextEncoder().encode(settings.JWT_SECRET);
    verify = async (token) =>
      (await jwtVerify(token, secret, { ...options, algorithms: ['HS256'] })).payload;
  } else {
    const jwks = createRemoteJWKSet(new URL(settings.JWKS_URL as string));
    verify = async (token) =>
      (await jwtVerify(token, jwks, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
  }

  return async function verifyAuthorization(authorization) {
    const payload = await verify(bearerToken(authorization)).catch(toAuthError);
    if (payload.type === 'refresh') {
      throw new UnauthorizedError('Refresh tokens are not accepted; send an access token');
    }
    const subject = payload.sub;
    if (!subject || subject.length > MAX_SUBJECT_LENGTH) {
      throw new UnauthorizedError('Token has no valid subject');
    }
    return subject;
  };
}

function bearerToken(authorization: string | undefined): string {
  const match = /^Bearer +([A-Za-z0-9._~+/=-]+) *$/i.exec(authorization ?? '');
  if (!match?.[1]) {
    throw new UnauthorizedError(
      'Missing or malformed Authorization header; expected "Bearer <token>"',
    );
  }
  return match[1];
}

function toAuthError(error: unknown): never {
  if (error instanceof errors.JWTExpired) throw new UnauthorizedError('Token has expired');
  if (error instanceof errors.JWKSTimeout) {
    throw new ServiceUnavailableError('Could not reach the token issuer; try again', {
      cause: error,
    });
  }
  if (error instanceof errors.JOSEError) throw new UnauthorizedError('Invalid token');
  // Not a verdict on the token (a JWKS fetch that failed, say): do not blame the client.
  throw new ServiceUnavailableError('Could not verify the token; try again', { cause: error });
}
