import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';

/**
 * The local stack's HS256 secret when `JWT_SECRET` is unset. It is public (it is in the
 * repository), so it only ever signs tokens for a stack on 127.0.0.1.
 */
export const DEV_JWT_SECRET = 'local-dev-secret-change-me-0123456789abcdef';

/** A token shaped like flask-jwt-extended's access tokens: `sub`, `type: "access"`, `exp`. */
export function signDevToken(userId: string, secret: string, ttlSeconds = 3600): Promise<string> {
  return new SignJWT({ type: 'access', fresh: false })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(userId)
    .setJti(randomUUID())
    .setIssuedAt()
    .setNotBefore('0s')
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(secret));
}
