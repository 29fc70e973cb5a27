import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { routes } from '#api/routes.ts';
import { signDevToken } from '../../infra/local/dev-token.ts';
import {
  installLambdaStreamingGlobals,
  isStreamingHandler,
  responseStream,
} from '../../infra/local/lambda-runtime.ts';
import { sampleEventText, sampleOrder } from '../../infra/sample-events.ts';

type Handler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;
type StreamingHandler = (
  event: APIGatewayProxyEvent,
  stream: Writable,
  context: Context,
) => Promise<void>;

/** Runs a response-streaming handler as Lambda would; the body is its events, read back as success. */
async function invokeStreaming(handler: StreamingHandler, event: APIGatewayProxyEvent) {
  let statusCode = 0;
  let text = '';
  const stream = responseStream(
    (prelude) => {
      statusCode = prelude.statusCode ?? 200;
    },
    (chunk) => {
      text += chunk.toString();
    },
  );
  await handler(event, stream, context);
  // The export is a file, not events: it succeeds when it answers 200 with the conversation.
  if (!text.startsWith('event:') && !text.startsWith('id:')) {
    return { statusCode, body: { success: statusCode === 200 && text.length > 0, text } };
  }
  const events = [...text.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => ({
    event: m[1],
    data: JSON.parse(m[2] as string),
  }));
  return { statusCode, body: { success: events.at(-1)?.event === 'ai_message', events } };
}

const context = {
  awsRequestId: 'sample',
  functionName: 'sample',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

/** The order a user would go in: store a key, send, follow, read, manage, clear, then erase. */
const ORDER = sampleOrder(routes).map((route) => route.handler);

const samEnv = JSON.parse(readFileSync('test/events/sam-env.json', 'utf8')).Parameters as Record<
  string,
  string
>;

beforeAll(() => {
  installLambdaStreamingGlobals();
  // What `sam local invoke --env-vars test/events/sam-env.json` hands the function, pointed at
  // this run's local stack (whose ports and table are chosen by the test setup).
  Object.assign(process.env, samEnv, {
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoEndpoint'),
    AWS_ENDPOINT_URL_KMS: inject('kmsEndpoint'),
    OPENAI_BASE_URL: inject('modelBaseUrl'),
    TABLE_NAME: inject('tableName'),
  });
});

describe('the sample events in test/events (for sam local invoke)', () => {
  it('exist for every route, as `npm run openapi` writes them from the route table', () => {
    for (const route of routes) {
      const text = readFileSync(`test/events/${route.handler}.json`, 'utf8');

      expect(text, `test/events/${route.handler}.json: run \`npm run openapi\``).toBe(
        sampleEventText(route),
      );
      expect(JSON.parse(text)).toMatchObject({ httpMethod: route.method, resource: route.path });
    }
  });

  it('each run through its handler against the local stack and succeed', async () => {
    const token = await signDevToken('sample-user', samEnv.JWT_SECRET as string);
    // biome-ignore lint/suspicious/noExplicitAny: the test reads the API's JSON as it is
    const results: Record<string, { statusCode: number; body: any }> = {};
    let replyId = '';
    for (const name of ORDER) {
      const event = JSON.parse(
        readFileSync(`test/events/${name}.json`, 'utf8'),
      ) as APIGatewayProxyEvent;
      if (event.headers.Authorization) event.headers.Authorization = `Bearer ${token}`;
      // The reply to follow and stop is the one the stream sample just wrote.
      if (event.pathParameters?.messageId) event.pathParameters.messageId = replyId;
      // So is the message a branch switch names.
      if (event.body?.includes('"message_id"')) {
        event.body = JSON.stringify({ ...JSON.parse(event.body), message_id: replyId });
      }
      const { handler } = (await import(`../../functions/${name}.ts`)) as { handler: Handler };
      if (isStreamingHandler(handler)) {
        results[name] = await invokeStreaming(handler as unknown as StreamingHandler, event);
        replyId ||=
          results[name].body.events.find((e: { event: string }) => e.event === 'ai_message_started')
            ?.data.id ?? '';
        continue;
      }
      const result = await handler(event, context);
      results[name] = { statusCode: result.statusCode, body: JSON.parse(result.body) };
    }

    for (const name of ORDER) {
      expect(results[name], name).toMatchObject({ statusCode: 200, body: { success: true } });
    }
    expect(results['clear-history']?.body).toMatchObject({ deleted_count: 4 });
  });
});
