/**
 * What the service tells users, in one place; and the few facts about stored replies that
 * readers and writers share (kept free of the model client, so the routes that only read
 * replies do not carry it).
 */

/** The sender id of every AI message. */
export const AI_SENDER_ID = 'ai-assistant';
/** `ai_model` of a stored fallback reply written when the model call failed. */
export const ERROR_MODEL = 'error';

export const NO_KEY_MESSAGE = 'No API key found. Please add your OpenAI API key in settings.';
export const BAD_KEY_MESSAGE = 'Invalid API key. Please update your API key in settings.';
export const UPSTREAM_FAILED_REPLY =
  "I'm sorry, I'm having trouble processing your request right now. Please try again later.";
export const KEY_REJECTED_REPLY =
  'Your API key was rejected by the AI provider, so I could not answer. Please update your API key in settings.';
/** A replayed request whose messages were cleared since. */
export const REPLAY_GONE =
  'This request already ran, but its messages have since been deleted; send it again with a new Idempotency-Key';
/** A reply whose conversation was cleared or deleted while it was being written. */
export const REPLY_GONE = 'This reply was deleted while it was being written';

/** A reply that grew past what one is stored in. */
export const REPLY_TOO_LONG =
  'The reply was longer than this service stores; it was cut short and is kept as written so far';

/** Code points, the unit of reply offsets: what a client counts as characters. */
export const codePoints = (text: string) => [...text].length;
