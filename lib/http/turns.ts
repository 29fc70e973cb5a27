import type { APIGatewayProxyResult } from 'aws-lambda';
import type { exchangeAnswer } from '#api/schemas.ts';
import { runTurn, type TurnRequest } from '#chat/run-turn.ts';
import type { ChatDeps } from '#chat/turn.ts';
import { REPLY_GONE } from '#chat/wording.ts';
import { GoneError } from '#commons/errors.ts';
import { ok } from './respond.ts';
import type { StreamResult } from './route.ts';
import { SSE_HEADERS, SseBody } from './sse.ts';
import { sendReplay, sendTurnEvents } from './turn-events.ts';
import { exchangeView } from './views.ts';

const REPLAYED = { 'Idempotent-Replayed': 'true' };

/**
 * A turn answered as JSON once its reply is stored and the exchange recorded (send,
 * regenerate): `{ user_message, ai_message }`, or the first answer again for a repeated
 * `Idempotency-Key`.
 */
export async function bufferedTurn(
  deps: ChatDeps,
  request: TurnRequest,
): Promise<APIGatewayProxyResult> {
  const outcome = await runTurn(deps, request);
  if (outcome.kind === 'replay') {
    return ok<typeof exchangeAnswer>(exchangeView(outcome.exchange), 200, REPLAYED);
  }
  const ai = await outcome.reply;
  await outcome.done;
  if (!ai) throw new GoneError(REPLY_GONE);
  return ok<typeof exchangeAnswer>(exchangeView({ user: outcome.user, ai }));
}

/**
 * A turn answered as server-sent events while its reply is written (stream, regenerate's
 * stream); the function stays alive until the reply is stored and the exchange recorded,
 * client or not.
 */
export async function streamedTurn(deps: ChatDeps, request: TurnRequest): Promise<StreamResult> {
  const sse = new SseBody();
  const outcome = await runTurn(deps, request, sendTurnEvents(sse));
  if (outcome.kind === 'replay') {
    sendReplay(outcome.exchange, sse);
    return { statusCode: 200, headers: { ...SSE_HEADERS, ...REPLAYED }, body: sse.stream };
  }
  return { statusCode: 200, headers: SSE_HEADERS, body: sse.stream, background: outcome.done };
}
