import type { APIGatewayProxyResult } from 'aws-lambda';
import {
  autoTitle,
  type ChatDeps,
  exchangeRecord,
  type PreparedTurn,
  replayExchange,
} from '../chat.ts';
import { GoneError } from '../errors.ts';
import { idempotent } from '../idempotency.ts';
import { writeReply } from '../reply-writer.ts';
import type { exchangeAnswer } from '../schemas.ts';
import type { IdempotencyStore } from '../store/idempotency.ts';
import { REPLY_GONE } from '../wording.ts';
import { replayReply, streamReply } from './reply-events.ts';
import { ok } from './respond.ts';
import type { StreamResult } from './route.ts';
import { SSE_HEADERS, SseBody } from './sse.ts';
import { exchangeView } from './views.ts';

/** How a route answers a turn: who asks, with which key, which request, and how it is prepared. */
export interface TurnRequest {
  deps: ChatDeps;
  idempotency: IdempotencyStore;
  userId: string;
  /** The `Idempotency-Key`, if the client sent one. */
  key: string | undefined;
  /** What makes two requests "the same" (their route and body). */
  fingerprint: unknown;
  /** Stores the question's reply (empty) and builds the model call. */
  prepare: () => Promise<PreparedTurn>;
}

const REPLAYED = { 'Idempotent-Replayed': 'true' };

/**
 * A turn answered as JSON once the reply is stored (send, regenerate): `{ user_message,
 * ai_message }`, or the first answer again for a repeated `Idempotency-Key`.
 */
export async function bufferedTurn(turn: TurnRequest): Promise<APIGatewayProxyResult> {
  const { deps, userId } = turn;
  const outcome = await idempotent(
    turn.idempotency,
    userId,
    turn.key,
    turn.fingerprint,
    async () => {
      const prepared = await turn.prepare();
      const written = writeReply(deps, prepared).then(async ({ message }) => {
        await autoTitle(deps, prepared, message);
        return { user: prepared.user, ai: message };
      });
      return { value: written, finished: written.then(() => exchangeRecord(prepared)) };
    },
  );
  if (outcome.kind === 'replay') {
    return ok<typeof exchangeAnswer>(
      exchangeView(await replayExchange(deps, userId, outcome.record)),
      200,
      REPLAYED,
    );
  }
  const { user, ai } = await outcome.value;
  await outcome.background;
  if (!ai) throw new GoneError(REPLY_GONE);
  return ok<typeof exchangeAnswer>(exchangeView({ user, ai }));
}

/**
 * A turn answered as server-sent events while the reply is written (stream, regenerate's
 * stream); the function stays alive until the reply is stored and the key settled, client or not.
 */
export async function streamedTurn(turn: TurnRequest): Promise<StreamResult> {
  const { deps, userId } = turn;
  const sse = new SseBody();
  const outcome = await idempotent(
    turn.idempotency,
    userId,
    turn.key,
    turn.fingerprint,
    async () => {
      const prepared = await turn.prepare();
      return { value: undefined, finished: streamReply(deps, prepared, sse) };
    },
  );
  if (outcome.kind === 'replay') {
    replayReply(await replayExchange(deps, userId, outcome.record), sse);
    return { statusCode: 200, headers: { ...SSE_HEADERS, ...REPLAYED }, body: sse.stream };
  }
  return {
    statusCode: 200,
    headers: SSE_HEADERS,
    body: sse.stream,
    background: outcome.background,
  };
}
