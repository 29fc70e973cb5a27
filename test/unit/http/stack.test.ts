import type { APIGatewayProxyEvent, Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { OUTAGE, OUTAGE_AFTER_SAVE } from '#chat/wording.ts';
import {
  BadRequestError,
  ConfigError,
  SavedButUnavailableError,
  TooManyRequestsError,
} from '#commons/errors.ts';
import { parseBody } from '#http/input.ts';
import { signDevToken } from '../../../infra/local/dev-token.ts';

/**
 * The one middleware stack (lib/http/route.ts) called as Lambda calls it, with API Gateway
 * events: auth, CORS and the error mapping, without a network or a table.
 */
const SECRET = 'unit-test-secret-0123456789abcdef0123456789';
const APP = 'http://app.example';
const OTHER_APP = 'http://other.example';

type Route = typeof import('#http/route.ts');
let httpRoute: Route['httpRoute'];

beforeAll(async () => {
  // The stack reads its settings when a route is built, as a handler does at cold start.
  process.env.JWT_SECRET = SECRET;
  process.env.ALLOWED_ORIGINS = `${APP},${OTHER_APP}`;
  ({ httpRoute } = await import('#http/route.ts'));
});

function event(fields: Partial<APIGatewayProxyEvent> = {}): APIGatewayProxyEvent {
  return {
    httpMethod: 'POST',
    path: '/api/chat/ai/send',
    resource: '/api/chat/ai/send',
    headers: {},
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    body: null,
    isBase64Encoded: false,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    ...fields,
  };
}

const context = {
  awsRequestId: 'req-1',
  functionName: 'unit',
  functionVersion: '1',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:unit',
  memoryLimitInMB: '128',
  getRemainingTimeInMillis: () => 10_000,
} as unknown as Context & { userId: string };

/** Calls a route whose logic throws `error` (or answers 200), as user-1 from APP. */
async function answer(
  error: unknown,
  headers: Record<string, string> = {},
  options: { auth?: boolean } = {},
) {
  let ran = false;
  const handler = httpRoute(async (_event, { userId }) => {
    ran = true;
    if (error) throw error;
    return { statusCode: 200, body: JSON.stringify({ success: true, userId }) };
  }, options);
  const token = await signDevToken('user-1', SECRET);
  const response = await handler(
    event({ headers: { Authorization: `Bearer ${token}`, Origin: APP, ...headers } }),
    context,
  );
  return { ...response, json: JSON.parse(response.body), ran };
}

describe('the HTTP stack', () => {
  it('runs the logic as the verified user and answers with CORS headers for each allowed origin', async () => {
    const fromApp = await answer(undefined);
    const fromOther = await answer(undefined, { Origin: OTHER_APP });
    const fromStranger = await answer(undefined, { Origin: 'http://evil.example' });

    expect(fromApp.json).toEqual({ success: true, userId: 'user-1' });
    expect(fromApp.headers?.['Access-Control-Allow-Origin']).toBe(APP);
    expect(fromApp.headers?.Vary).toBe('Origin');
    expect(fromOther.headers?.['Access-Control-Allow-Origin']).toBe(OTHER_APP);
    expect(fromStranger.statusCode).toBe(200);
    expect(fromStranger.headers?.['Access-Control-Allow-Origin']).toBeUndefined();
  });

  it('refuses a missing or forged token with 401 before the logic runs, with CORS so the app can read it', async () => {
    const missing = await answer(undefined, { Authorization: '' });
    const forged = await answer(undefined, {
      Authorization: `Bearer ${await signDevToken('user-1', `${SECRET}-not`)}`,
    });

    for (const refused of [missing, forged]) {
      expect(refused.statusCode).toBe(401);
      expect(refused.ran).toBe(false);
      expect(refused.json).toEqual({ success: false, error: expect.any(String) });
      expect(refused.headers?.['Access-Control-Allow-Origin']).toBe(APP);
    }
  });

  it('lets a public route run without a token', async () => {
    const open = await answer(undefined, { Authorization: '' }, { auth: false });

    expect(open.statusCode).toBe(200);
    expect(open.ran).toBe(true);
  });

  it("answers a client's mistake with its status and message", async () => {
    const bad = await answer(new BadRequestError('message must not be empty'));

    expect(bad.statusCode).toBe(400);
    expect(bad.json).toEqual({ success: false, error: 'message must not be empty' });
  });

  it('answers a limit with 429 and Retry-After, exposed to the browser', async () => {
    const limited = await answer(new TooManyRequestsError('slow down', 42));

    expect(limited.statusCode).toBe(429);
    expect(limited.headers?.['Retry-After']).toBe('42');
    expect(limited.headers?.['Access-Control-Expose-Headers']).toContain('Retry-After');
  });

  it('answers an outage of a dependency with 503 and Retry-After, however the SDK spells it', async () => {
    const outages = [
      Object.assign(new Error('Rate exceeded'), {
        name: 'ThrottlingException',
        $retryable: { throttling: true },
      }),
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8000'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('socket hang up'), {
        name: 'TimeoutError',
        cause: { code: 'ETIMEDOUT' },
      }),
      Object.assign(new Error('We encountered an internal error'), {
        name: 'InternalServerError',
        $fault: 'server',
      }),
    ];
    for (const outage of outages) {
      const reply = await answer(outage);
      expect(reply.statusCode, outage.name).toBe(503);
      expect(reply.headers?.['Retry-After']).toBe('5');
      expect(reply.json).toEqual({ success: false, error: OUTAGE });
    }
  });

  it('says the message was saved when the outage came after it was stored', async () => {
    const reply = await answer(
      new SavedButUnavailableError(
        OUTAGE_AFTER_SAVE,
        { room_id: 'default', user_seq: 1, ai_seq: 2 },
        { cause: new Error('x') },
      ),
    );

    expect(reply.statusCode).toBe(503);
    expect(reply.json.error).toBe(OUTAGE_AFTER_SAVE);
  });

  it('answers a misconfiguration with 503 without naming the setting, and a bug with 500 without its message', async () => {
    const misconfigured = await answer(new ConfigError('Invalid configuration: KMS_KEY_ID'));
    const bug = await answer(new TypeError("Cannot read properties of undefined (reading 'sk')"));

    expect(misconfigured.statusCode).toBe(503);
    expect(misconfigured.body).not.toContain('KMS_KEY_ID');
    expect(bug.statusCode).toBe(500);
    expect(bug.json).toEqual({ success: false, error: expect.any(String) });
    expect(bug.body).not.toContain('Cannot read');
    expect(bug.headers?.['Access-Control-Allow-Origin']).toBe(APP);
  });
});

describe('parseBody', () => {
  const schema = z.object({ message: z.string().min(1, 'message must not be empty') });
  const parse = (body: string | null, isBase64Encoded = false) =>
    parseBody(event({ body, isBase64Encoded }), schema, 100);

  it('reads a JSON object, base64-encoded or not', () => {
    expect(parse('{"message":"hi"}')).toEqual({ message: 'hi' });
    expect(parse(Buffer.from('{"message":"héllo"}').toString('base64'), true)).toEqual({
      message: 'héllo',
    });
  });

  it('refuses what is not a JSON object with 400, and an invalid field with its message', () => {
    for (const body of [null, '', '{', 'null', '[]', '"text"', '{}{}']) {
      expect(() => parse(body), String(body)).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST' }),
      );
    }
    expect(() => parse('{"message":""}')).toThrow('message must not be empty');
  });

  it('refuses a body over the limit in bytes (not characters) with 413', () => {
    // 40 emoji: 40 characters, 160 bytes.
    expect(() => parse(JSON.stringify({ message: '😀'.repeat(40) }))).toThrow(
      expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }),
    );
    expect(parse(JSON.stringify({ message: 'a'.repeat(80) }))).toEqual({
      message: 'a'.repeat(80),
    });
  });
});
