import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import middy, { type MiddyfiedHandler } from '@middy/core';
import { executionModeStreamifyResponse } from '@middy/core/executionModeStreamifyResponse';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { authSettings, httpSettings } from '#commons/config.ts';
import { logger } from '#commons/logger.ts';
import { publishMetrics } from '#commons/metrics.ts';
import { createTokenVerifier } from './auth.ts';
import { bearerAuth, cors, errorResponses, type RouteContext } from './middleware.ts';

/** A route's own logic: parse, authorize, call `lib/`, answer. */
export type RouteLogic = (
  event: APIGatewayProxyEvent,
  context: RouteContext,
) => Promise<APIGatewayProxyResult>;

/** A streaming route's answer: a stream body, and the work the function must finish before it ends. */
export type StreamResult = Omit<APIGatewayProxyResult, 'body'> & {
  body: NodeJS.ReadableStream | string;
  /** Kept alive past the answer (a reply still being stored after its client left). */
  background?: Promise<unknown>;
};
export type StreamLogic = (
  event: APIGatewayProxyEvent,
  context: RouteContext,
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
 * The invocation's metrics are written when it ends, whatever the answer.
 */
export function httpRoute(logic: RouteLogic, options: RouteOptions = {}) {
  return withStack(middy(logic, { requestEnd: publishMetrics }), options);
}

/**
 * The same stack for a Lambda response-streaming handler (API Gateway `STREAM` mode): errors
 * before the stream starts are ordinary JSON answers; once it starts, the body streams. The
 * function ends only after the logic's `background` work is done.
 */
export function streamRoute(logic: StreamLogic, options: RouteOptions = {}) {
  const background = new WeakMap<object, Promise<unknown>>();
  const answer = async (event: APIGatewayProxyEvent, context: RouteContext) => {
    // The background promise stays here: everything else in the result becomes the stream's
    // HTTP prelude, which must hold only status and headers.
    const { background: work, ...result } = await logic(event, context);
    if (work) background.set(context, work);
    return result;
  };
  // The middlewares only read and set status and headers, which a stream result has too.
  const handler = middy(answer as unknown as RouteLogic, {
    executionMode: executionModeStreamifyResponse,
    requestEnd: async function awaitBackgroundWork(request) {
      // Metrics are written once the reply is stored: a stream's model call ends here.
      await background.get(request.context);
      publishMetrics();
    },
  });
  return withStack(handler, options);
}

function withStack(handler: HttpHandler, { auth = true }: RouteOptions): HttpHandler {
  // Order matters: middy runs `before` hooks in this order and `after`/`onError` in reverse.
  // The logger's context comes first, so every later line carries the request id; CORS wraps
  // the error mapping, so an error answer gets CORS headers too; auth runs last of the
  // `before` hooks, so its 401 goes through the error mapping and CORS like any other error.
  // The event itself is never logged.
  handler
    .use(injectLambdaContext(logger, { logEvent: false }))
    .use(cors({ origins: httpSettings().ALLOWED_ORIGINS }))
    .use(errorResponses());
  if (auth) handler.use(bearerAuth({ verify: createTokenVerifier(authSettings()) }));
  return handler;
}
