/**
 * Whether an error is a dependency's outage (DynamoDB, KMS, Secrets Manager unreachable, slow,
 * throttling or failing on its side) rather than a bug: the former is a 503 a client may retry,
 * the latter a 500.
 */
export function isDependencyFailure(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 5; depth++) {
    const e = current as {
      name?: string;
      code?: string;
      $fault?: string;
      $retryable?: unknown;
      cause?: unknown;
    };
    if (e.$fault === 'server' || e.$retryable) return true;
    if (e.name && OUTAGE_NAMES.has(e.name)) return true;
    if (e.code && NETWORK_CODES.has(e.code)) return true;
    current = e.cause;
  }
  return false;
}

/** Throttling, timeouts and service-side failures, as the AWS SDK names them. */
const OUTAGE_NAMES = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'LimitExceededException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalServerError',
  'InternalFailure',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSInternalException',
  'DependencyTimeoutException',
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
