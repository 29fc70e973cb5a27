import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/executionModeStreamifyResponse';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createTokenVerifier } from '../auth.ts';
import { authSettings, httpSettings } from '../config.ts';
import { logger } from '../logger.ts';
import { bearerAuth, cors, errorResponses, type RouteContext } from './middleware.ts';

export type { RouteContext } from './middleware.ts';

/** A route's own logic: parse, authorize, call `lib/`, answer. */
export type RouteLogic = (
  event: APIGatewayProxyEvent,
  context: RouteContext,
) => Promise<APIGatewayProxyResult>;

/** A streaming route answers with a stream body; `waitFor` keeps the function alive for work it started. */
export type StreamingContext = RouteContext & { waitFor?: Promise<unknown> };
export type StreamResult = Omit<APIGatewayProxyResult, 'body'> & {
  body: NodeJS.ReadableStream | string;
};
export type StreamLogic = (
  event: APIGatewayProxyEvent,
  context: StreamingContext,
) => Promise<StreamResult>;

type HttpHandler = MiddyfiedHandler<
  APIGatewayProxyEvent,
  APIGatewayProxyResult,
  Error,
  RouteContext
>;

export interface RouteOptions {
  /** Require a verified bearer token. Default: true. */
  auth?: boolean;
}

/**
 * The one middleware stack every HTTP handler uses: the Lambda context on every log line, CORS
 * on every answer, errors mapped to
 * `{ success: false, error }`, and bearer-token auth. Settings are read here, at cold start.
 */
export function httpRoute(logic: RouteLogic, options: RouteOptions = {}) {
  return withStack(middy(logic), options);
}

/**
 * The same stack for a Lambda response-streaming handler (API Gateway `STREAM` mode): errors
 * before the stream starts are ordinary JSON answers; once it starts, the body streams. The
 * function ends only after the work the logic registered in `context.waitFor` is done.
 */
export function streamRoute(logic: StreamLogic, options: RouteOptions = {}) {
  // The middlewares only read and set status and headers, which a stream result has too.
  const handler = middy(logic as unknown as RouteLogic, {
    executionMode: executionModeStreamifyResponse,
    requestEnd: async function awaitBackgroundWork(request) {
      await (request.context as StreamingContext).waitFor;
    },
  });
  return withStack(handler, options);
}

function withStack(handler: HttpHandler, { auth = true }: RouteOptions): HttpHandler {
  // Request id and cold start on every log line; the event itself is never logged.
  handler
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(cors({ origins: httpSettings().ALLOWED_ORIGINS }))
    .use(errorResponses());
  if (auth) handler.use(bearerAuth({ verify: createTokenVerifier(authSettings()) }));
  return handler;
}
