import type { APIGatewayProxyResult } from 'aws-lambda';
import type * as z from 'zod';
import { INTERNAL_ERROR } from '#chat/wording.ts';
import type { ErrorCode } from '#commons/errors.ts';

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  GONE: 410,
  PAYLOAD_TOO_LARGE: 413,
  UNPROCESSABLE: 422,
  TOO_MANY_REQUESTS: 429,
  SERVICE_UNAVAILABLE: 503,
};

const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8' };

/**
 * A success body, `{ success: true, ...body }`, typed by the schema of the answer it is (from
 * `lib/api/schemas.ts`), named as a type (`ok<typeof roomAnswer>(...)`) so that no function
 * builds the schema at run time: what a route sends is what its OpenAPI document says. Without the type
 * argument the body is `never`, so it cannot be left out.
 */
export function ok<S extends z.ZodType<{ success: true }> = never>(
  body: Omit<z.output<S>, 'success'>,
  statusCode = 200,
  headers: Record<string, string> = {},
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify({ success: true, ...body }),
  };
}

/** An error body: `{ success: false, error, ...extra }` with the status for the code. */
export function fail(
  code: ErrorCode,
  error: string,
  headers: Record<string, string> = {},
  extra: Record<string, unknown> = {},
): APIGatewayProxyResult {
  return {
    statusCode: STATUS_BY_CODE[code],
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify({ success: false, error, ...extra }),
  };
}

/** The answer to a bug or an outage: no detail leaves the service. */
export function internalError(): APIGatewayProxyResult {
  return {
    statusCode: 500,
    headers: { ...JSON_HEADERS },
    body: JSON.stringify({ success: false, error: INTERNAL_ERROR }),
  };
}
