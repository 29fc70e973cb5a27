import middy from '@middy/core';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { createTokenVerifier } from '../auth.ts';
import { authSettings, httpSettings } from '../config.ts';
import { bearerAuth, cors, errorResponses, type RouteContext } from './middleware.ts';

export type { RouteContext } from './middleware.ts';

/** A route's own logic: parse, authorize, call `lib/`, answer. */
export type RouteLogic = (
  event: APIGatewayProxyEvent,
  context: RouteContext,
) => Promise<APIGatewayProxyResult>;

export interface RouteOptions {
  /** Require a verified bearer token. Default: true. */
  auth?: boolean;
}

/**
 * The one middleware stack every HTTP handler uses: CORS on every answer, errors mapped to
 * `{ success: false, error }`, and bearer-token auth. Settings are read here, at cold start.
 */
export function httpRoute(logic: RouteLogic, { auth = true }: RouteOptions = {}) {
  const handler = middy<APIGatewayProxyEvent, APIGatewayProxyResult, Error, RouteContext>(logic)
    .use(cors({ origins: httpSettings().ALLOWED_ORIGINS }))
    .use(errorResponses());
  if (auth) handler.use(bearerAuth({ verify: createTokenVerifier(authSettings()) }));
  return handler;
}
