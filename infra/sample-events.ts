import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { type Route, SAMPLE_STEPS } from '#api/route-spec.ts';

/**
 * The sample events in `test/events/` (one REST proxy event, payload 1.0, per route, for
 * `sam local invoke -e`), made from each route's entry in the route table: `npm run openapi`
 * writes them, and a test runs each through its handler, in the order a first session would.
 */
export const EVENTS_DIR = fileURLToPath(new URL('../test/events/', import.meta.url));

const AUTHORIZATION = 'Bearer <paste the output of: npm run token -- sample-user>';

/** The routes in the order a first session calls them: by sample step, then in table order. */
export function sampleOrder(routes: readonly Route[]): Route[] {
  const step = (route: Route) => SAMPLE_STEPS.indexOf(route.sample.step);
  return [...routes].sort((a, b) => step(a) - step(b));
}

/** A route's sample event, as its file holds it. */
export function sampleEventText(route: Route): string {
  const { params, query, body } = route.sample;
  const { success } = route.contract;
  const path = route.path.replace(/\{(\w+)\}/g, (_, name: string) => params?.[name] ?? name);
  const headers: Record<string, string> = {
    Accept:
      'json' in success
        ? 'application/json'
        : 'events' in success
          ? 'text/event-stream'
          : (Object.keys(success.file)[0] as string),
    Host: 'abc123.execute-api.us-east-1.amazonaws.com',
    Origin: 'http://localhost:5173',
    ...(route.auth ? { Authorization: AUTHORIZATION } : {}),
    ...(body ? { 'Content-Type': 'application/json' } : {}),
  };
  const multi = (values: Record<string, string> | undefined) =>
    values ? Object.fromEntries(Object.entries(values).map(([k, v]) => [k, [v]])) : null;
  const event = {
    resource: route.path,
    path,
    httpMethod: route.method,
    headers,
    multiValueHeaders: multi(headers),
    queryStringParameters: query ?? null,
    multiValueQueryStringParameters: multi(query),
    pathParameters: params ?? null,
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'abc123',
      stage: 'prod',
      resourceId: 'xyz789',
      resourcePath: route.path,
      httpMethod: route.method,
      path: `/prod${path}`,
      protocol: 'HTTP/1.1',
      requestId: requestId(route.handler),
      requestTimeEpoch: 1795000000000,
      identity: { sourceIp: '203.0.113.10', userAgent: 'curl/8.5.0' },
    },
    body: body ? JSON.stringify(body) : null,
    isBase64Encoded: false,
  };
  // One-element arrays on one line, as the formatter keeps them.
  return `${JSON.stringify(event, null, 2).replace(/\[\n\s+("[^"\n]*")\n\s+\]/g, '[$1]')}\n`;
}

/** A request id (a name-based UUID, version 5's layout), the same whenever the event is written. */
function requestId(handler: string): string {
  const hex = createHash('sha1').update(`sample-event/${handler}`).digest('hex');
  const variant = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  const parts = [hex.slice(0, 8), hex.slice(8, 12), `5${hex.slice(13, 16)}`];
  return [...parts, `${variant}${hex.slice(17, 20)}`, hex.slice(20, 32)].join('-');
}
