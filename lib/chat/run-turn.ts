import { idempotent } from './idempotency.ts';
import type { Exchange, StoredMessage } from './message.ts';
import { exchangeRecord, replayExchange } from './replay.ts';
import { writeReply } from './reply-writer.ts';
import { autoTitle } from './titles.ts';
import type { ChatDeps, PreparedTurn } from './turn.ts';

/** What a turn tells whoever renders it, as it happens. */
export type TurnEvent =
  /** The question and the empty reply are stored: the reply's id can be followed. */
  | { type: 'started'; user: StoredMessage; ai: StoredMessage }
  /** A piece of the reply, with the reply's length in code points once it is added. */
  | { type: 'delta'; content: string; offset: number }
  /** A piece of the model's reasoning, with the reasoning's length in code points once added. */
  | { type: 'reasoning'; content: string; offset: number }
  /**
   * The reply is stored as it ended (`message` is undefined when it was cleared or deleted
   * meanwhile); `failure` is what to tell the user when the model failed.
   */
  | { type: 'ended'; message: StoredMessage | undefined; failure?: string }
  /** Writing the reply failed (an outage after the save, or a bug). */
  | { type: 'failed'; error: unknown };

export interface TurnRequest {
  userId: string;
  /** The `Idempotency-Key`, if the client sent one. */
  key: string | undefined;
  /** What makes two requests "the same" (their route and body). */
  fingerprint: unknown;
  /** Stores the question and its empty reply, and builds the model call. */
  prepare: () => Promise<PreparedTurn>;
}

export type TurnOutcome =
  /** A repeat of a request that ran already: its exchange as it is now. */
  | { kind: 'replay'; exchange: Exchange }
  | {
      kind: 'ran';
      user: StoredMessage;
      /** Settles once the reply is stored: as it ended, or undefined when it was deleted. */
      reply: Promise<StoredMessage | undefined>;
      /** Settles once the conversation is named and the exchange recorded; never rejects. */
      done: Promise<void>;
    };

/**
 * One turn of a conversation, the same however it is answered: claim the `Idempotency-Key` (a
 * repeat replays the first exchange instead), prepare the turn (the key, the limits, the
 * question and an empty reply stored, the context), then write the reply, name the conversation
 * and record the exchange for repeats, in that order, whether or not anyone is listening.
 * `onEvent` hears each step as it happens (a stream sends them on).
 */
export async function runTurn(
  deps: ChatDeps,
  request: TurnRequest,
  onEvent: (event: TurnEvent) => void = () => undefined,
): Promise<TurnOutcome> {
  const { userId } = request;
  const outcome = await idempotent(
    deps.idempotency,
    userId,
    request.key,
    request.fingerprint,
    async () => {
      const turn = await request.prepare();
      onEvent({ type: 'started', user: turn.user, ai: turn.ai });
      const reply = writeReply(deps, turn, {
        onDelta: (delta) => onEvent({ type: 'delta', ...delta }),
        onReasoning: (delta) => onEvent({ type: 'reasoning', ...delta }),
      }).then(
        ({ message, failure }) => {
          onEvent({ type: 'ended', message, ...(failure ? { failure } : {}) });
          return message;
        },
        (error: unknown) => {
          onEvent({ type: 'failed', error });
          throw error;
        },
      );
      const finished = reply.then(async (message) => {
        await autoTitle(deps, turn, message);
        return exchangeRecord(turn);
      });
      return { value: { user: turn.user, reply }, finished };
    },
  );
  if (outcome.kind === 'replay') {
    return { kind: 'replay', exchange: await replayExchange(deps, userId, outcome.record) };
  }
  return { kind: 'ran', ...outcome.value, done: outcome.background };
}
