import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RouteSpec } from '#api/route-spec.ts';
import {
  type LoadedRoute,
  type LocalHttpServer,
  startHttpServer,
} from '../../infra/local/http-server.ts';

let server: LocalHttpServer | undefined;
afterEach(async () => {
  await server?.close();
});

function route(
  spec: Partial<RouteSpec>,
  handler: (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>,
): LoadedRoute {
  return {
    spec: {
      method: 'GET',
      path: '/slow',
      handler: 'slow',
      auth: false,
      dynamodb: [],
      kms: [],
      model: false,
      timeoutSeconds: 1,
      ...spec,
    },
    handler: handler as LoadedRoute['handler'],
    pattern: /^\/slow$/,
    params: [],
  };
}

describe('the local HTTP server', () => {
  it('answers 504 in the API error shape when a route runs past its timeout, as API Gateway does', async () => {
    server = await startHttpServer({
      routes: [
        route({}, async () => {
          await sleep(3_000);
          return { statusCode: 200, body: '{}' };
        }),
      ],
      allowedOrigins: ['*'],
    });
    const started = Date.now();

    const response = await fetch(`${server.url}/slow`);

    expect(response.status).toBe(504);
    expect(await response.json()).toEqual({ success: false, error: 'Endpoint request timed out' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeLessThan(2_500);
  });

  it('answers a handler that throws with 502 in the API error shape', async () => {
    server = await startHttpServer({
      routes: [
        route({}, async () => {
          throw new Error('boom');
        }),
      ],
      allowedOrigins: ['*'],
    });

    const response = await fetch(`${server.url}/slow`);

    expect(response.status).toBe(502);
    expect(await response.json()).toEqual({ success: false, error: 'Internal server error' });
  });

  it('hands `__proto__` and `constructor` query names and headers to the handler as plain data', async () => {
    let seen: APIGatewayProxyEvent | undefined;
    server = await startHttpServer({
      routes: [
        route({}, async (event) => {
          seen = event;
          return { statusCode: 200, body: '{}' };
        }),
      ],
      allowedOrigins: ['*'],
    });

    const response = await fetch(`${server.url}/slow?__proto__=a&constructor=b&x=1`, {
      headers: { constructor: 'c', 'x-test': 'd' },
    });

    expect(response.status).toBe(200);
    expect(Object.getPrototypeOf(seen?.queryStringParameters)).toBe(Object.prototype);
    expect(seen?.queryStringParameters).toMatchObject({ x: '1' });
    expect(Object.hasOwn(seen?.queryStringParameters ?? {}, '__proto__')).toBe(true);
    expect(Object.hasOwn(seen?.headers ?? {}, 'constructor')).toBe(true);
  });

  it('answers a path parameter with malformed %-encoding with 400, not a crash', async () => {
    server = await startHttpServer({
      routes: [
        {
          ...route({}, async () => ({ statusCode: 200, body: '{}' })),
          pattern: /^\/items\/([^/]+)$/,
          params: ['id'],
        },
      ],
      allowedOrigins: ['*'],
    });

    const response = await fetch(`${server.url}/items/%E0%A4%A`);

    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      success: false,
      error: 'Malformed %-encoding in the path',
    });
  });
});

/** What the server answers to raw bytes, read until it closes the connection. */
function rawExchange(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((done, fail) => {
    const socket = connect(Number(port), hostname, () => socket.write(request));
    let answer = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk) => (answer += chunk));
    socket.once('error', fail);
    socket.once('close', () => done(answer));
  });
}

function parseAnswer(raw: string) {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const [statusLine = '', ...lines] = head.split('\r\n');
  const headers = Object.fromEntries(
    lines.map((line) => {
      const colon = line.indexOf(':');
      return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
    }),
  );
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

describe('requests the HTTP parser refuses before any handler runs', () => {
  const refused = [
    {
      what: 'a request line and headers over 16 KB',
      request: `GET /slow HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(17_000)}\r\n\r\n`,
      status: 431,
      error: /too large/,
    },
    {
      what: 'a control character in a header value',
      request: 'GET /slow HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0001b\r\n\r\n',
      status: 400,
      error: /^Malformed request/,
    },
    {
      what: 'a header line without a colon',
      request: 'GET /slow HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n',
      status: 400,
      error: /^Malformed request/,
    },
  ];

  it.each(refused)(
    'with $what are answered $status in the API error shape, with CORS, and the connection closed',
    async ({ request, status, error }) => {
      server = await startHttpServer({
        routes: [route({}, async () => ({ statusCode: 200, body: '{}' }))],
        allowedOrigins: ['*'],
      });

      const answer = parseAnswer(await rawExchange(server.url, request));

      expect(answer.status).toBe(status);
      expect(answer.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(answer.headers.connection).toBe('close');
      expect(answer.headers['access-control-allow-origin']).toBe('*');
      expect(Number(answer.headers['content-length'])).toBe(Buffer.byteLength(answer.body));
      const body = JSON.parse(answer.body) as { success: boolean; error: string };
      expect(body.success).toBe(false);
      expect(body.error).toMatch(error);
    },
  );

  it('name an allowed origin in the answer, so a browser can read it, and no other origin', async () => {
    server = await startHttpServer({
      routes: [route({}, async () => ({ statusCode: 200, body: '{}' }))],
      allowedOrigins: ['https://app.example.com'],
    });
    const bad = (origin: string) =>
      `GET /slow HTTP/1.1\r\nHost: x\r\nOrigin: ${origin}\r\nX-Bad: a\u0001b\r\n\r\n`;

    const allowed = parseAnswer(await rawExchange(server.url, bad('https://app.example.com')));
    const other = parseAnswer(await rawExchange(server.url, bad('https://evil.example')));

    expect(allowed.status).toBe(400);
    expect(allowed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(allowed.headers.vary).toBe('Origin');
    expect(other.status).toBe(400);
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
    expect(JSON.parse(other.body)).toMatchObject({ success: false });
  });

  it('are answered too when they follow an answered request on a kept-alive connection', async () => {
    server = await startHttpServer({
      routes: [route({}, async () => ({ statusCode: 200, body: '{"ok":true}' }))],
      allowedOrigins: ['*'],
    });
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.setEncoding('latin1');
    let raw = '';
    socket.on('data', (chunk) => (raw += chunk));
    const closed = new Promise((done) => socket.once('close', done));

    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\n');
    await vi.waitUntil(() => raw.endsWith('\r\n0\r\n\r\n'));
    socket.write('GET /slow HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n');
    await closed;

    const second = parseAnswer(raw.slice(raw.indexOf('HTTP/1.1', 1)));
    expect(raw.startsWith('HTTP/1.1 200')).toBe(true);
    expect(second.status).toBe(400);
    expect(JSON.parse(second.body)).toMatchObject({ success: false });
  });
});
