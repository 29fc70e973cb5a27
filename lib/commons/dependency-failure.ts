/**
 * Whether an error is a dependency's outage (DynamoDB, KMS, Secrets Manager unreachable, slow,
 * throttling or failing on its side) rather than a bug: the former is a 503 a client may retry,
 * the latter a 500.
 */
export function isDependencyFailure(error: unknown): boolean {
  return dependencyFailureKind(error) !== undefined;
}

/** How a dependency failed, for the operator's graphs; undefined when it is not an outage. */
export type DependencyFailureKind = 'throttled' | 'timeout' | 'unreachable' | 'server_error';

export function dependencyFailureKind(error: unknown): DependencyFailureKind | undefined {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const e = current as {
      name?: string;
      code?: string;
      $fault?: string;
      $retryable?: { throttling?: boolean };
      cause?: unknown;
    };
    if (e.name && THROTTLING_NAMES.has(e.name)) return 'throttled';
    if (e.$retryable?.throttling) return 'throttled';
    if (e.name && TIMEOUT_NAMES.has(e.name)) return 'timeout';
    if (e.code && NETWORK_CODES.has(e.code))
      return e.code === 'ETIMEDOUT' ? 'timeout' : 'unreachable';
    if (e.$fault === 'server' || e.$retryable) return 'server_error';
    if (e.name && SERVER_ERROR_NAMES.has(e.name)) return 'server_error';
    current = e.cause;
  }
  return undefined;
}

const THROTTLING_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceededException',
]);

const TIMEOUT_NAMES = new Set([
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'DependencyTimeoutException',
]);

/** Failures on the service's side, as the AWS SDK names them (throttling and timeouts are above). */
const SERVER_ERROR_NAMES = new Set([
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSInternalException',
  'InternalServiceError',
]);

/** The network saying no: nothing listening, a connection cut, a name that does not resolve. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
]);
