import type { MiddlewareObj, Request } from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { MISCONFIGURED, OUTAGE } from '#chat/wording.ts';
import { dependencyFailureKind, isDependencyFailure } from '#commons/dependency-failure.ts';
import {
  AppError,
  ConfigError,
  ServiceUnavailableError,
  TooManyRequestsError,
} from '#commons/errors.ts';
import { logger } from '#commons/logger.ts';
import { recordRateLimited, recordUpstreamFailure } from '#commons/metrics.ts';
import type { TokenVerifier } from './auth.ts';
import { fail, internalError } from './respond.ts';

/** The Lambda context, plus the verified caller once `bearerAuth` has run. */
export type RouteContext = Context & { userId: string };

type HttpRequest = Request<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RouteContext>;
type HttpMiddleware = MiddlewareObj<
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Error,
  RouteContext
>;

/** Reads a header whatever its case (API Gateway passes them as the client sent them). */
export function header(event: APIGatewayProxyEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && value !== undefined) return value;
  }
  return undefined;
}

export interface BearerAuthOptions {
  /** Checks the `Authorization` header and returns the user id. */
  verify: TokenVerifier;
}

/** Verifies the bearer token before the handler runs and puts the user id on the context. */
export function bearerAuth({ verify }: BearerAuthOptions): HttpMiddleware {
  return {
    before: async function bearerAuthBefore(request: HttpRequest) {
      request.context.userId = await verify(header(request.event, 'authorization'));
    },
  };
}

/**
 * Turns any thrown error into `{ success: false, error }`: the client's mistakes as 4xx, an
 * outage or a misconfiguration as 503, the rest (bugs) as 500.
 */
export function errorResponses(): HttpMiddleware {
  return {
    onError: function errorResponsesOnError(request: HttpRequest) {
      const error =
        !(request.error instanceof AppError) && isDependencyFailure(request.error)
          ? new ServiceUnavailableError(OUTAGE, { cause: request.error })
          : request.error;
      if (error instanceof AppError) {
        if (error.code === 'SERVICE_UNAVAILABLE') {
          logger.warn('dependency failure', { error: describe(error) });
          const kind = dependencyFailureKind(error.cause);
          if (kind) recordUpstreamFailure(kind);
        }
        if (error instanceof TooManyRequestsError) recordRateLimited();
        const headers: Record<string, string> =
          error instanceof TooManyRequestsError || error instanceof ServiceUnavailableError
            ? { 'Retry-After': String(error.retryAfterSeconds) }
            : {};
        request.response = fail(error.code, error.message, headers);
        return;
      }
      if (error instanceof ConfigError) {
        // The deployment, not the request, is wrong: say so (503, which the 5xx alarm counts)
        // without detail; the log names the setting.
        logger.error('service misconfigured', { error: describe(error) });
        request.response = fail('SERVICE_UNAVAILABLE', MISCONFIGURED);
        return;
      }
      logger.error('unhandled error', { error: describe(error) });
      request.response = internalError();
    },
  };
}

/** Error name, message and the cause's name, never a stack full of request data. */
function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { name: typeof error };
  const cause =
    error.cause instanceof Error ? { cause: `${error.cause.name}: ${error.cause.message}` } : {};
  return { name: error.name, message: error.message, ...cause };
}

export interface CorsOptions {
  /** Allowed origins; `*` allows any. */
  origins: string[];
}

/** Response headers a browser script may read (they are not CORS-safelisted). */
const EXPOSE_HEADERS = 'Retry-After, Idempotent-Replayed';

/** The CORS response headers for a request's Origin, or none when it is not allowed. */
export function corsHeaders(origins: string[], origin: string | undefined): Record<string, string> {
  if (origins.includes('*')) {
    return { 'Access-Control-Allow-Origin': '*', 'Access-Control-Expose-Headers': EXPOSE_HEADERS };
  }
  if (origin && origins.includes(origin)) {
    return {
      'Access-Control-Allow-Origin': origin,
      'Access-Control-Expose-Headers': EXPOSE_HEADERS,
      Vary: 'Origin',
    };
  }
  return {};
}

/** Adds CORS headers to every answer, errors included. */
export function cors({ origins }: CorsOptions): HttpMiddleware {
  const addHeaders = (request: HttpRequest) => {
    if (!request.response) return;
    request.response.headers = {
      ...request.response.headers,
      ...corsHeaders(origins, header(request.event, 'origin')),
    };
  };
  return {
    after: function corsAfter(request: HttpRequest) {
      addHeaders(request);
    },
    onError: function corsOnError(request: HttpRequest) {
      addHeaders(request);
    },
  };
}
