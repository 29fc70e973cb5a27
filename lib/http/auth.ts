import {
  createRemoteJWKSet,
  errors,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  jwtVerify,
} from 'jose';
import { prefetchSecret } from '#adapters/secrets.ts';
import { type AuthSettings, MIN_HS256_SECRET } from '#commons/config.ts';
import {
  AppError,
  ConfigError,
  ServiceUnavailableError,
  UnauthorizedError,
} from '#commons/errors.ts';

/** Verifies an `Authorization` header and returns the token's subject (the user id). */
export type TokenVerifier = (authorization: string | undefined) => Promise<string>;

const MAX_SUBJECT_LENGTH = 256;
/** Seconds of clock difference allowed between the issuer and this service. */
const CLOCK_TOLERANCE = 5;

/**
 * Builds the verifier for the configured mode: `JWT_SECRET` (HS256, as issued by
 * flask-jwt-extended) or `JWKS_URL` (RS256/ES256 from an OIDC provider). Algorithms are pinned,
 * so `alg: none` and algorithm confusion never pass; `exp` and `sub` are required.
 */
export function createTokenVerifier(settings: AuthSettings): TokenVerifier {
  const options: JWTVerifyOptions = {
    requiredClaims: ['exp', 'sub'],
    clockTolerance: CLOCK_TOLERANCE,
    ...(settings.JWT_ISSUER ? { issuer: settings.JWT_ISSUER } : {}),
    ...(settings.JWT_AUDIENCE ? { audience: settings.JWT_AUDIENCE } : {}),
  };
  let verify: (token: string) => Promise<JWTPayload>;
  if (settings.JWKS_URL) {
    const jwks = issuerKeys(settings.JWKS_URL);
    verify = async (token) =>
      (await jwtVerify(token, jwks, { ...options, algorithms: ['RS256', 'ES256'] })).payload;
  } else {
    const secret = hs256Secret(settings);
    verify = async (token) =>
      (await jwtVerify(token, await secret(), { ...options, algorithms: ['HS256'] })).payload;
  }

  return async function verifyAuthorization(authorization) {
    const payload = await verify(bearerToken(authorization)).catch(toAuthError);
    if (payload.type !== undefined && typeof payload.type !== 'string') {
      throw new UnauthorizedError('Token claim "type" must be a string');
    }
    if (payload.type === 'refresh') {
      throw new UnauthorizedError('Refresh tokens are not accepted; send an access token');
    }
    // jose checks `iat` only against a maximum age: a token "issued" in the future is forged or
    // from a broken clock, and would outlive its stated life.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + CLOCK_TOLERANCE) {
      throw new UnauthorizedError('Token was issued in the future ("iat")');
    }
    return subjectOf(payload.sub);
  };
}

/**
 * The user id a token names. A number is read as its decimal string (flask-jwt-extended before
 * 4.7 wrote integer identities as numbers), so `12345` and `"12345"` are the same user
 * everywhere; anything else that is not a non-empty string is refused, whoever signed it.
 */
export function subjectOf(sub: unknown): string {
  const subject = typeof sub === 'number' && Number.isSafeInteger(sub) ? String(sub) : sub;
  if (typeof subject !== 'string' || subject.length === 0) {
    throw new UnauthorizedError('Token claim "sub" must be a non-empty string (or an integer)');
  }
  // Also bounds the default room `ai_chat_{sub}` inside DynamoDB's key size once URI-encoded.
  if (subject.length > MAX_SUBJECT_LENGTH || encodeURIComponent(subject).length > 768) {
    throw new UnauthorizedError('Token claim "sub" is too long');
  }
  return subject;
}

/**
 * The issuer's key set, fetched and cached by jose. Only a key-selection verdict is the
 * token's fault (401); a key set that cannot be fetched or read (a non-200, bad JSON, a
 * timeout) is the issuer's outage (503), so users are not signed out by an IdP hiccup.
 */
function issuerKeys(url: string): JWTVerifyGetKey {
  const jwks = createRemoteJWKSet(new URL(url));
  return async function issuerKey(header, token) {
    try {
      return await jwks(header, token);
    } catch (error) {
      if (
        error instanceof errors.JWKSNoMatchingKey ||
        error instanceof errors.JWKSMultipleMatchingKeys ||
        error instanceof errors.JOSENotSupported
      ) {
        throw error;
      }
      throw new ServiceUnavailableError("Could not fetch the token issuer's keys; try again", {
        cause: error,
      });
    }
  };
}

/**
 * Resolves when the configured token check can work; throws `ConfigError` naming what is wrong
 * (never the secret) when it cannot: what `/health` reports, so a deployment whose secret is
 * unusable does not look healthy.
 */
export async function checkAuthConfig(settings: AuthSettings): Promise<void> {
  if (settings.JWKS_URL) return;
  await hs256Secret(settings)();
}

/** The HS256 key: from `JWT_SECRET`, or fetched from Secrets Manager now (at cold start). */
function hs256Secret(settings: AuthSettings): () => Promise<Uint8Array> {
  const encode = (value: string) => {
    if (value.length < MIN_HS256_SECRET) {
      throw new ConfigError(
        `The JWT secret${settings.JWT_SECRET_ARN ? ' in Secrets Manager (JWT_SECRET_ARN)' : ''} is shorter than ${MIN_HS256_SECRET} characters`,
      );
    }
    return new TextEncoder().encode(value);
  };
  if (settings.JWT_SECRET) {
    const key = encode(settings.JWT_SECRET);
    return async () => key;
  }
  const secret = prefetchSecret(settings.JWT_SECRET_ARN as string);
  return async () => {
    try {
      return encode(await secret());
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw new ServiceUnavailableError('Could not load the token secret; try again', {
        cause: error,
      });
    }
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
  if (error instanceof AppError || error instanceof ConfigError) throw error;
  if (error instanceof errors.JWTExpired) throw new UnauthorizedError('Token has expired');
  // A signed token whose claims fail: say which claim, so the cause is findable
  // (flask-jwt-extended with JWT_ACCESS_TOKEN_EXPIRES = False issues tokens without `exp`).
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'exp' && error.reason === 'missing') {
      throw new UnauthorizedError('Token has no "exp" claim; access tokens must expire');
    }
    throw new UnauthorizedError(`Invalid token: ${error.message}`);
  }
  if (error instanceof errors.JWKSTimeout) {
    throw new ServiceUnavailableError('Could not reach the token issuer; try again', {
      cause: error,
    });
  }
  if (error instanceof errors.JOSEError) throw new UnauthorizedError('Invalid token');
  // Not a verdict on the token (a JWKS fetch that failed, say): do not blame the client.
  throw new ServiceUnavailableError('Could not verify the token; try again', { cause: error });
}
