import { randomUUID } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  maxHeaderSize,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { RouteSpec } from '#api/route-spec.ts';
import { CORS_ALLOW_HEADERS, routes } from '#api/routes.ts';
import { corsHeaders } from '#http/middleware.ts';
import {
  installLambdaStreamingGlobals,
  isStreamingHandler,
  responseStream,
} from './lambda-runtime.ts';
import { closeServer, listenOnLoopback, readBody } from './net.ts';

type ProxyHandler = (
  event: APIGatewayProxyEvent,
  context: Context,
) => Promise<APIGatewayProxyResult>;

type StreamingProxyHandler = (
  event: APIGatewayProxyEvent,
  stream: Writable,
  context: Context,
) => Promise<void>;

export interface LoadedRoute {
  spec: RouteSpec;
  handler: ProxyHandler;
  pattern: RegExp;
  params: string[];
}

/** API Gateway's own cap on a request body. */
const MAX_REQUEST_BYTES = 10 * 1024 * 1024;

/** Imports every route's handler, exactly the modules Lambda would run. */
export async function loadRoutes(): Promise<LoadedRoute[]> {
  installLambdaStreamingGlobals();
  return Promise.all(
    routes.map(async (spec) => {
      const module = (await import(`../../functions/${spec.handler}.ts`)) as {
        handler: ProxyHandler;
      };
      const params: string[] = [];
      const source = spec.path.replace(/\{(\w+)\}/g, (_, name: string) => {
        params.push(name);
        return '([^/]+)';
      });
      return { spec, handler: module.handler, pattern: new RegExp(`^${source}$`), params };
    }),
  );
}

/** A local-only answer (never a route of the table, never deployed): the OpenAPI document, the web client. */
export type LocalExtra = (
  req: IncomingMessage,
) => APIGatewayProxyResult | Promise<APIGatewayProxyResult>;

export interface LocalHttpServerOptions {
  routes: LoadedRoute[];
  /** Local-only answers by exact path (GET only, no auth). Default: none. */
  extras?: Record<string, LocalExtra>;
  /** Port on 127.0.0.1. Default: 0 (any free port). */
  port?: number;
  /** CORS allowed origins, as the handlers use them. */
  allowedOrigins: string[];
  /** Called once per request with a one-line summary (never headers or bodies). */
  log?: (line: string) => void;
}

export interface LocalHttpServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serves the route table the way API Gateway's REST API does: each request becomes a Lambda
 * proxy event (payload 1.0) for the same handler the stack deploys, and its result becomes the
 * HTTP response. CORS preflights are answered here, as the gateway answers them.
 */
export async function startHttpServer(options: LocalHttpServerOptions): Promise<LocalHttpServer> {
  const answering = new WeakMap<Socket, ServerResponse>();
  const server = createServer((req, res) => {
    const started = Date.now();
    answering.set(req.socket, res);
    res.once('finish', () => answering.delete(req.socket));
    serve(options, req, res)
      .catch(() => send(res, jsonError(502, 'Internal server error', {})))
      .finally(() =>
        options.log?.(
          `${req.method} ${req.url?.split('?')[0]} ${res.statusCode} ${Date.now() - started}ms`,
        ),
      );
  });
  server.on('clientError', (error: ParserError, socket: Socket) =>
    refuseUnparsed(options, error, socket, answering.get(socket)),
  );
  const port = await listenOnLoopback(server, {
    port: options.port ?? 0,
    what: 'the API',
    variable: 'PORT',
  });
  return { url: `http://127.0.0.1:${port}`, server, close: () => closeServer(server) };
}

/** An error of Node's HTTP parser: llhttp's code (`HPE_...`) and its reason, and the bytes it read. */
type ParserError = Error & { code?: string; reason?: string; rawPacket?: Buffer };

/**
 * A request the HTTP parser refused before any handler could see it (headers over Node's
 * limit, a control character in a header, a line without a colon) gets the API's error shape,
 * as every other refusal does, rather than Node's bare status line; the connection is closed,
 * since the parser cannot find where the next request starts. Nothing is written once an
 * earlier response on this connection has begun, or the client would read a corrupt answer.
 */
function refuseUnparsed(
  options: LocalHttpServerOptions,
  error: ParserError,
  socket: Socket,
  inFlight: ServerResponse | undefined,
) {
  if (error.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
    socket.destroy();
    return;
  }
  const [status, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, `The request line and headers are too large (at most ${maxHeaderSize / 1024} KB)`]
      : error.code === 'HPE_CHUNK_EXTENSIONS_OVERFLOW'
        ? [413, 'The chunk extensions are too large']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'The request took too long to arrive']
          : [400, `Malformed request${error.reason ? `: ${error.reason}` : ''}`];
  // The parser kept no headers; the Origin is looked for in the bytes it had read, so that a
  // browser may show the answer to an allowed page.
  const origin = /\r\norigin:[ \t]*([^\r\n]*)/i.exec(
    error.rawPacket?.toString('latin1') ?? '',
  )?.[1];
  const { headers, body } = jsonError(
    status,
    message,
    corsHeaders(options.allowedOrigins, origin?.trim()),
  );
  const head = Object.entries({
    ...headers,
    'Content-Length': String(Buffer.byteLength(body)),
    Connection: 'close',
  }).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head.join('')}\r\n${body}`);
  options.log?.(`(unparsed request) ${status} (${error.code})`);
}

async function serve(options: LocalHttpServerOptions, req: IncomingMessage, res: ServerResponse) {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const extra = options.extras?.[url.pathname];
  if (extra && (req.method === 'GET' || req.method === 'POST')) {
    send(res, await extra(req));
    return;
  }
  const onPath = options.routes
    .map((route) => ({ route, match: route.pattern.exec(url.pathname) }))
    .filter((candidate) => candidate.match);
  const origin = header(req, 'origin');
  const cors = corsHeaders(options.allowedOrigins, origin);

  if (req.method === 'OPTIONS' && onPath.length > 0) {
    const methods = [...onPath.map(({ route }) => route.spec.method), 'OPTIONS'].join(',');
    send(res, {
      statusCode: 204,
      headers: {
        ...cors,
        'Access-Control-Allow-Methods': methods,
        'Access-Control-Allow-Headers': CORS_ALLOW_HEADERS.join(','),
        'Access-Control-Max-Age': '600',
      },
      body: '',
    });
    return;
  }
  const found = onPath.find(({ route }) => route.spec.method === req.method);
  if (!found?.match) {
    send(res, jsonError(404, 'Not found', cors));
    return;
  }
  const body = await readBody(req, MAX_REQUEST_BYTES);
  if (body === undefined) {
    send(res, jsonError(413, 'Request body is too large', cors));
    return;
  }
  const { route, match } = found;
  let pathParameters: Record<string, string>;
  try {
    pathParameters = Object.fromEntries(
      route.params.map((name, i) => [name, decodeURIComponent(match[i + 1] as string)]),
    );
  } catch {
    send(res, jsonError(400, 'Malformed %-encoding in the path', cors));
    return;
  }
  const event = toProxyEvent(req, url, route.spec, pathParameters, body);
  if (isStreamingHandler(route.handler)) {
    await serveStream(route.handler as unknown as StreamingProxyHandler, event, route.spec, res);
    return;
  }
  await buffered.take();
  try {
    const answer = route.handler(event, lambdaContext(route.spec));
    send(res, await withinTimeout(answer, route.spec, cors));
  } finally {
    buffered.give();
  }
}

/**
 * At most this many buffered invocations run at once. In AWS each invocation has a container
 * (an event loop) of its own; here they all share one, and a burst (100 sends at once from a
 * script) made every invocation wait on the others' work until its AWS clients' timeouts passed:
 * spurious 503s. The rest wait their turn before they start, as requests to a busy function wait
 * for a container to start. Streaming routes, mostly idle while they wait on the model or poll,
 * are not counted.
 */
const BUFFERED_CONCURRENCY = 16;

/** A counting semaphore: `take` waits for a free slot, `give` frees one. */
function slots(count: number) {
  let free = count;
  const waiting: (() => void)[] = [];
  return {
    async take() {
      if (free > 0) {
        free -= 1;
        return;
      }
      await new Promise<void>((resume) => waiting.push(resume));
    },
    give() {
      const next = waiting.shift();
      if (next) next();
      else free += 1;
    },
  };
}

const buffered = slots(BUFFERED_CONCURRENCY);

/**
 * A buffered answer, or API Gateway's 504 once the route's timeout passes (in AWS the function
 * is stopped then; here it runs on, unanswered, so tests see what a client in AWS would).
 */
async function withinTimeout(
  answer: Promise<APIGatewayProxyResult>,
  spec: RouteSpec,
  cors: Record<string, string>,
): Promise<APIGatewayProxyResult> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<APIGatewayProxyResult>((done) => {
    timer = setTimeout(
      () => done(jsonError(504, 'Endpoint request timed out', cors)),
      spec.timeoutSeconds * 1000,
    );
  });
  try {
    return await Promise.race([answer, timedOut]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A response-streaming handler, served as API Gateway's STREAM mode does: the status and
 * headers from the handler's prelude, then each chunk as the handler writes it. A client that
 * goes away ends the stream, as it does in Lambda; the handler decides what still runs.
 */
async function serveStream(
  handler: StreamingProxyHandler,
  event: APIGatewayProxyEvent,
  spec: RouteSpec,
  res: ServerResponse,
) {
  const stream = responseStream(
    ({ statusCode = 200, headers = {} }) => res.writeHead(statusCode, headers),
    (chunk) => res.write(chunk),
  );
  const onClose = () => {
    if (!res.writableFinished) stream.destroy(new Error('client disconnected'));
  };
  res.once('close', onClose);
  try {
    await handler(event, stream, lambdaContext(spec));
  } catch {
    // The handler has already answered (or the client is gone); nothing more to send.
  } finally {
    res.removeListener('close', onClose);
    if (!res.headersSent) send(res, jsonError(502, 'Internal server error', {}));
    else res.end();
  }
}

function toProxyEvent(
  req: IncomingMessage,
  url: URL,
  spec: RouteSpec,
  pathParameters: Record<string, string>,
  body: string,
): APIGatewayProxyEvent {
  // Maps first, then plain objects made of own properties: a header or query parameter named
  // `__proto__` or `constructor` is data, as it is in API Gateway's event, not a prototype.
  const headers = new Map<string, string>();
  const multiValueHeaders = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i] as string;
    const value = req.rawHeaders[i + 1] as string;
    headers.set(name, value);
    multiValueHeaders.set(name, [...(multiValueHeaders.get(name) ?? []), value]);
  }
  const query = new Map<string, string>();
  const multiQuery = new Map<string, string[]>();
  for (const [name, value] of url.searchParams) {
    query.set(name, value);
    multiQuery.set(name, [...(multiQuery.get(name) ?? []), value]);
  }
  const hasQuery = url.searchParams.size > 0;
  const now = new Date();
  return {
    resource: spec.path,
    path: url.pathname,
    httpMethod: spec.method,
    headers: Object.fromEntries(headers),
    multiValueHeaders: Object.fromEntries(multiValueHeaders),
    queryStringParameters: hasQuery ? Object.fromEntries(query) : null,
    multiValueQueryStringParameters: hasQuery ? Object.fromEntries(multiQuery) : null,
    pathParameters: Object.keys(pathParameters).length > 0 ? pathParameters : null,
    stageVariables: null,
    body: body.length > 0 ? body : null,
    isBase64Encoded: false,
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      authorizer: null,
      protocol: `HTTP/${req.httpVersion}`,
      httpMethod: spec.method,
      identity: localIdentity(
        req.socket.remoteAddress ?? '127.0.0.1',
        header(req, 'user-agent') ?? null,
      ),
      path: `/local${url.pathname}`,
      stage: 'local',
      requestId: randomUUID(),
      requestTimeEpoch: now.getTime(),
      resourceId: 'local',
      resourcePath: spec.path,
    },
  };
}

function localIdentity(sourceIp: string, userAgent: string | null) {
  return {
    accessKey: null,
    accountId: null,
    apiKey: null,
    apiKeyId: null,
    caller: null,
    clientCert: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp,
    user: null,
    userAgent,
    userArn: null,
  };
}

function lambdaContext(spec: RouteSpec): Context {
  const deadline = Date.now() + spec.timeoutSeconds * 1000;
  const functionName = `local-${spec.handler}`;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function jsonError(
  statusCode: number,
  error: string,
  headers: Record<string, string>,
): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { ...headers, 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ success: false, error }),
  };
}

function send(res: ServerResponse, result: APIGatewayProxyResult) {
  if (res.headersSent) return;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(result.headers ?? {})) headers[name] = String(value);
  for (const [name, values] of Object.entries(result.multiValueHeaders ?? {}))
    headers[name] = values.map(String);
  const body = result.isBase64Encoded
    ? Buffer.from(result.body, 'base64')
    : Buffer.from(result.body ?? '', 'utf8');
  res.writeHead(result.statusCode, headers);
  res.end(body);
}
