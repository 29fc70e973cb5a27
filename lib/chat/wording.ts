/**
 * What the service tells users, in one place (the routes' own answers aside, which read as part
 * of each handler's story; validation messages are declared with their schemas, token errors with
 * the verifier); and the few facts about stored replies that readers and writers share (kept
 * free of the model client, so the routes that only read replies do not carry it).
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

export const TOO_MANY_VERSIONS =
  'This place of the conversation already has 100 versions; edit or regenerate elsewhere';
export const NO_SUCH_MESSAGE = 'No such message in this conversation';
export const EDIT_NOT_QUESTION = 'edit_of must name a question (a user message)';
export const PARENT_NOT_REPLY = 'parent_id must name a reply (an AI message)';
export const REGENERATE_NOT_REPLY = 'message_id must name a reply (an AI message)';
export const STILL_BEING_WRITTEN = 'That reply is still being written; stop it first';
export const NOTHING_TO_REGENERATE = 'The conversation does not end with a reply to regenerate';
export const STILL_WRITING = 'The last reply is still being written; stop it first';
export const CHANGED_MEANWHILE = 'The conversation changed meanwhile; reload it and try again';

/** Another user's reply id is not found either. */
export const NO_SUCH_REPLY = 'No such reply';
export const NO_SUCH_CONVERSATION = 'No such conversation';

export const KEY_FORMAT = 'Idempotency-Key must be 1-255 printable ASCII characters';
export const KEY_REUSED = 'Idempotency-Key was already used with a different request';
export const KEY_IN_PROGRESS = 'A request with this Idempotency-Key is still in progress';

/** A cursor that is not one this API made. */
export const BAD_CURSOR = 'cursor is invalid; pass back a next_cursor this API returned';
export const OTHER_ORDER_CURSOR = 'cursor belongs to the other order';

/** DynamoDB left part of a batch unprocessed after every retry. */
export const DATABASE_BUSY = 'The database is busy; try again';
/** Said when a dependency fails before anything was stored. */
export const OUTAGE = 'A service this API depends on is unavailable right now; try again shortly';
/** Said when it fails after the question was stored. */
export const OUTAGE_AFTER_SAVE =
  'A service this API depends on failed after your message was saved; reload the conversation rather than send it again';
/** What a client is told when the deployment's settings are unusable. */
export const MISCONFIGURED =
  'The service is misconfigured and cannot handle requests; its operator must fix its settings';
/** The answer to a bug: no detail leaves the service. */
export const INTERNAL_ERROR = 'Internal server error';

/** Over the per-user rate limit. */
export const rateLimited = (perMinute: number) =>
  `Rate limit of ${perMinute} messages per minute reached; try again shortly`;
/** Over the per-user daily token limit. */
export const dailyTokensUsed = (tokens: number) =>
  `Daily token limit of ${tokens} reached; it resets at midnight UTC`;

/** Over the per-user cap on replies streamed or followed at once. */
export const tooManyStreams = (perUser: number) =>
  `At most ${perUser} replies can be streamed or followed at once; close one and try again`;
