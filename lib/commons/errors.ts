/** Every error class the service throws, in one place. */

/** Stable, client-facing error codes; `lib/http/respond.ts` maps each to an HTTP status. */
export type ErrorCode =
  | 'BAD_REQUEST'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'CONFLICT'
  | 'GONE'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNPROCESSABLE'
  | 'TOO_MANY_REQUESTS'
  | 'SERVICE_UNAVAILABLE';

/** An error whose message is safe to show the client. */
export class AppError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AppError';
    this.code = code;
  }
}

/** The request is malformed: bad JSON, a missing field, a query value out of range. */
export class BadRequestError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super('BAD_REQUEST', message, options);
    this.name = 'BadRequestError';
  }
}

/** No credentials, or credentials that do not verify. */
export class UnauthorizedError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super('UNAUTHORIZED', message, options);
    this.name = 'UnauthorizedError';
  }
}

/** Valid credentials for someone who may not touch this resource. */
export class ForbiddenError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super('FORBIDDEN', message, options);
    this.name = 'ForbiddenError';
  }
}

/** The body (or a field in it) is over its size limit. */
export class PayloadTooLargeError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super('PAYLOAD_TOO_LARGE', message, options);
    this.name = 'PayloadTooLargeError';
  }
}

/** Nothing of this id belongs to the caller (another user's ids are not found either). */
export class NotFoundError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super('NOT_FOUND', message, options);
    this.name = 'NotFoundError';
  }
}

/** What the request names existed but was deleted (a replayed send whose messages were cleared). */
export class GoneError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super('GONE', message, options);
    this.name = 'GoneError';
  }
}

/** The request clashes with one still in progress (the same idempotency key). */
export class ConflictError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFLICT', message, options);
    this.name = 'ConflictError';
  }
}

/** Well-formed but refused: an idempotency key reused with a different body. */
export class UnprocessableError extends AppError {
  constructor(message: string, options?: ErrorOptions) {
    super('UNPROCESSABLE', message, options);
    this.name = 'UnprocessableError';
  }
}

/** Over a per-user limit; `retryAfterSeconds` becomes the `Retry-After` header. */
export class TooManyRequestsError extends AppError {
  readonly retryAfterSeconds: number;

  constructor(message: string, retryAfterSeconds: number) {
    super('TOO_MANY_REQUESTS', message);
    this.name = 'TooManyRequestsError';
    this.retryAfterSeconds = Math.max(1, Math.ceil(retryAfterSeconds));
  }
}

/** A dependency (DynamoDB, KMS, Secrets Manager) is down; the client may retry after `Retry-After`. */
export class ServiceUnavailableError extends AppError {
  readonly retryAfterSeconds = 5;

  constructor(message: string, options?: ErrorOptions) {
    super('SERVICE_UNAVAILABLE', message, options);
    this.name = 'ServiceUnavailableError';
  }
}

/**
 * A dependency failed after a send stored its question: the client should reload, not resend.
 * `record` is where the exchange is, so a retry with the same Idempotency-Key replays it.
 */
export class SavedButUnavailableError<R = unknown> extends ServiceUnavailableError {
  readonly record: R;

  constructor(message: string, record: R, options?: ErrorOptions) {
    super(message, options);
    this.name = 'SavedButUnavailableError';
    this.record = record;
  }
}

/** The deployment is misconfigured: a setting is missing or invalid. Never shown to clients. */
export class ConfigError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ConfigError';
  }
}

/** The upstream model refused the API key (HTTP 401). */
export class ModelKeyRejectedError extends Error {
  constructor(options?: ErrorOptions) {
    super('The model provider rejected the API key', options);
    this.name = 'ModelKeyRejectedError';
  }
}

/** The upstream model failed, timed out or answered with nothing usable. */
export class ModelUnavailableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ModelUnavailableError';
  }
}

/** The ciphertext does not decrypt for this user (tampered, copied from another user, or a lost key). */
export class UndecryptableKeyError extends Error {
  constructor(options?: ErrorOptions) {
    super('The stored API key cannot be decrypted', options);
    this.name = 'UndecryptableKeyError';
  }
}
